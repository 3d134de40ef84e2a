/// Limits on YAML aliases, checked on the text before it is parsed, as Go's yaml.v3 and
/// serde_yaml limit them: a few lines of `&a [*b, *b, ...]` (the "billion laughs") expand to
/// billions of values, and an alias used as a mapping key is hashed whole by the parser.
///
/// - at most `maxAliases` aliases in a file;
/// - no alias as a mapping key (`*a: x`, `? *a`);
/// - at most `maxExpandedValues` values once every alias is expanded (checked while the
///   parsed document is converted, see `YAMLLoader`).
///
/// The scan knows enough YAML to find aliases: it skips comments, quoted scalars and block
/// scalars (`|`, `>`), and counts a `*` only where a node starts (after a blank, `[`, `{` or `,`).
enum YAMLAliasLimits {
    static let maxAliases = 1_000
    static let maxExpandedValues = 100_000

    /// The first limit the text breaks, as a problem naming file, line and column; nil when none.
    static func check(_ text: String, file: String) -> ConfigIssue? {
        var aliases = 0
        var line = 1
        var column = 0
        var quote: UInt8?
        var inComment = false
        var previous: UInt8 = 0x0A
        /// Inside a block scalar: lines indented deeper than this are its content.
        var blockIndent: Int?
        var lineIndent = 0
        var atLineStart = true
        var lastSignificant: UInt8 = 0
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A {
                // A line ending in `|` or `>` (with chomping or indentation indicators) opens a
                // block scalar whose content is every deeper-indented line after it.
                if quote == nil, blockIndent == nil, Self.endsInBlockIndicator(bytes, lineEnd: index) { blockIndent = lineIndent }
                line += 1
                column = 0
                inComment = false
                atLineStart = true
                lineIndent = 0
                previous = byte
                index += 1
                continue
            }
            column += 1
            if atLineStart {
                if byte == 0x20 {
                    lineIndent += 1
                    previous = byte
                    index += 1
                    continue
                }
                atLineStart = false
                if let indent = blockIndent {
                    if lineIndent > indent || byte == 0x0D {
                        // Block scalar content: skip to the end of the line.
                        while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                        continue
                    }
                    blockIndent = nil
                }
            }
            defer {
                previous = byte
                index += 1
            }
            if inComment { continue }
            if let open = quote {
                if open == UInt8(ascii: "\"") && byte == UInt8(ascii: "\\") {
                    index += 1
                    column += 1
                } else if byte == open {
                    if open == UInt8(ascii: "'") && index + 1 < bytes.count && bytes[index + 1] == open {
                        index += 1
                        column += 1
                    } else {
                        quote = nil
                    }
                }
                continue
            }
            let startsNode = previous == 0x20 || previous == 0x09 || previous == 0x0A || previous == UInt8(ascii: "[")
                || previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",")
            switch byte {
            case UInt8(ascii: "#") where previous == 0x20 || previous == 0x09 || previous == 0x0A:
                inComment = true
            case UInt8(ascii: "\""), UInt8(ascii: "'") where startsNode:
                quote = byte
            case UInt8(ascii: "*") where startsNode:
                aliases += 1
                let here = "\(file):\(line):\(column)"
                if aliases > maxAliases {
                    return ConfigIssue(path: "", message: "\(here): more than \(maxAliases) YAML aliases; Sluice refuses a file that could expand without bound")
                }
                var end = index + 1
                while end < bytes.count, !Self.endsAliasName(bytes[end]) { end += 1 }
                var next = end
                while next < bytes.count, bytes[next] == 0x20 { next += 1 }
                let isKey = lastSignificant == UInt8(ascii: "?")
                    || (next < bytes.count && bytes[next] == UInt8(ascii: ":")
                        && (next + 1 == bytes.count || [0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ","), UInt8(ascii: "}")].contains(bytes[next + 1])))
                if isKey {
                    return ConfigIssue(path: "", message: "\(here): a YAML alias cannot be a mapping key in a Sluice configuration")
                }
            default:
                break
            }
            if byte != 0x20 && byte != 0x09 { lastSignificant = byte }
        }
        return nil
    }

    private static func endsAliasName(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
    }

    /// Whether the line ending at `lineEnd` ends (before any comment) in a block scalar
    /// indicator: `|` or `>`, then optional `+`/`-` and an indentation digit.
    private static func endsInBlockIndicator(_ bytes: [UInt8], lineEnd: Int) -> Bool {
        var end = lineEnd
        var start = lineEnd
        while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
        if let hash = bytes[start..<end].firstIndex(where: { $0 == UInt8(ascii: "#") }), hash > start, bytes[hash - 1] == 0x20 { end = hash }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0D { end -= 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: "-") || bytes[end - 1] == UInt8(ascii: "+")
            || (bytes[end - 1] >= UInt8(ascii: "1") && bytes[end - 1] <= UInt8(ascii: "9")) { end -= 1 }
        guard end > start, bytes[end - 1] == UInt8(ascii: "|") || bytes[end - 1] == UInt8(ascii: ">") else { return false }
        return end - 1 == start || bytes[end - 2] == 0x20
    }
}
