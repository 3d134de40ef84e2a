/// Node.js: an uncaught exception prints where it was thrown (`/app/server.js:12`), the source
/// line, a caret line, a blank line, the error (`Error: boom`) with its `    at` frames, the
/// error's own properties (`{ code: 'ENOENT', ... }`, the closing brace at the margin), a blank
/// line and `Node.js v20.20.2`. `console.error(error)` prints the error and its frames alone.
/// Anything else ends the group. (An error line after a line that speaks of a problem is not
/// joined to it: unlike a qualified Java exception name, `SomethingError: ...` is also how
/// many programs print one-line messages.)
struct NodeTrace {
    private enum Phase {
        case outside
        /// After `file.js:N`: the source line comes next, whatever it looks like.
        case header
        /// After the source line: the caret line.
        case source
        /// After the caret: a blank line, then the error line.
        case caret
        /// The error's frames, properties, blank lines, `Node.js vN`.
        case body
    }

    private var phase = Phase.outside

    mutating func started(_ line: UnsafeRawBufferPointer) {
        phase = line.looksLikeNodeLocation ? .header : line.looksLikeErrorNameLine ? .body : .outside
    }

    mutating func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        switch phase {
        case .outside:
            return false
        case .header:
            phase = .source
            return true
        case .source:
            // The caret under the throw (`    ^`).
            phase = .caret
            return true
        case .caret:
            if line.isEmpty { return true }
            phase = .body
            return line.looksLikeErrorNameLine || line.hasPrefix("[") || line.hasPrefix("Uncaught ")
        case .body:
            if line.hasPrefix("Node.js v") {
                phase = .outside
                return true
            }
            return line.isEmpty || line.startsWithBlank || line.hasPrefix("}")
        }
    }
}

/// A trace whose first line is recognised and whose other lines are indented: Ruby's
/// (`\tfrom ...`, and a cause's trace after it, which starts like the first: `restarts`) and
/// .NET's (`   at ...`, ` ---> ...`, `   --- End of inner exception ...`).
struct IndentedTrace {
    private let startsWith: (UnsafeRawBufferPointer) -> Bool
    private let restarts: Bool
    private var inTrace = false

    init(restarts: Bool = false, startsWith: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.startsWith = startsWith
        self.restarts = restarts
    }

    mutating func started(_ line: UnsafeRawBufferPointer) {
        inTrace = startsWith(line)
    }

    func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        inTrace && (line.startsWithBlank || (restarts && startsWith(line)))
    }
}

extension UnsafeRawBufferPointer {
    /// `/app/server.js:12`, `node:internal/process/promises:289`: where Node.js threw.
    var looksLikeNodeLocation: Bool {
        var colon = count - 1
        while colon > 0, self[colon] >= UInt8(ascii: "0"), self[colon] <= UInt8(ascii: "9") { colon -= 1 }
        guard colon > 0, colon < count - 1, self[colon] == UInt8(ascii: ":"), endOfWord() == count else { return false }
        let file = UnsafeRawBufferPointer(rebasing: self[0..<colon])
        return file.hasPrefix("node:") || file.hasSuffix(".js") || file.hasSuffix(".mjs") || file.hasSuffix(".cjs") || file.hasSuffix(".ts")
    }

    /// `Error: boom`, `TypeError: x`, `SystemError [ERR_X]: y`: an unqualified error name and its
    /// message, as JavaScript prints errors.
    var looksLikeErrorNameLine: Bool {
        guard let first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z") else { return false }
        let end = firstIndex { $0 == UInt8(ascii: ":") || $0 == 0x20 } ?? count
        guard end < count else { return false }
        let name = UnsafeRawBufferPointer(rebasing: self[0..<end])
        guard name.allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }), name.hasSuffix("Error") else { return false }
        return self[end] == UInt8(ascii: ":") || (self[end] == 0x20 && end + 1 < count && self[end + 1] == UInt8(ascii: "["))
    }

    /// `/app/app.rb:2:in 'divide': divided by 0 (ZeroDivisionError)`: Ruby's uncaught exception.
    var looksLikeRubyExceptionLine: Bool {
        guard last == UInt8(ascii: ")"), contains(sequence: ":in `") || contains(sequence: ":in '"),
              let open = lastIndex(of: UInt8(ascii: "(")) else { return false }
        let name = UnsafeRawBufferPointer(rebasing: self[(open + 1)..<(count - 1)])
        return !name.isEmpty && !name.contains(0x20)
    }

    /// `Unhandled exception. System.X: ...`, or a qualified exception name at the margin.
    var looksLikeDotNetExceptionStart: Bool {
        hasPrefix("Unhandled exception. ") || looksLikeJavaExceptionLine
    }
}
