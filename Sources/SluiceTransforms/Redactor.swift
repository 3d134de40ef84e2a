import SluiceCore
/// Finds what one `redact` step hides in a text and writes the text with each match replaced.
/// One per thread (it owns its regex match data and scratch space).
final class Redactor {
    let settings: RedactionSettings
    private let matchers: [PatternMatcher]
    private let secretKeys: [[UInt8]]
    private let replacement: [UInt8]
    /// The replacement as a JSON string, quotes included: what a secret field's value becomes.
    let quotedReplacement: [UInt8]
    private let fields: [[UInt8]]?
    private let findsSecretKeys: Bool
    @exclusivity(unchecked) private var ranges: [Range<Int>] = []

    init(_ settings: RedactionSettings) {
        self.settings = settings
        matchers = settings.regexes.map { $0.matcher() }
        secretKeys = settings.secretKeys.map { Array($0.lowercased().utf8) }
        replacement = Array(settings.replacement.utf8)
        var quoted = ByteWriter(capacity: replacement.count + 8)
        quoted.appendJSONString(settings.replacement)
        quotedReplacement = Array(quoted.bytes)
        fields = settings.fields.map { $0.map { Array($0.utf8) } }
        findsSecretKeys = settings.patterns.contains(.secrets)
    }

    /// Whether the top-level field `key` (raw bytes) is searched.
    func selects(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let fields else { return true }
        return fields.contains { $0.elementsEqual(key) }
    }

    /// Whether a JSON key (raw bytes) names a secret: its whole value is replaced.
    func isSecretKey(_ key: UnsafeRawBufferPointer) -> Bool {
        guard findsSecretKeys else { return false }
        return secretKeys.contains { name in
            name.count == key.count && zip(name, key).allSatisfy { $0 == $1 | 0x20 || $0 == $1 }
        }
    }

    /// Writes `text` with every match replaced into `output`; false (and nothing written) when
    /// nothing matched. Fails closed: when a regex is stopped at `Pattern.matchLimit`, whether
    /// the text holds a secret is not known, so all of it is replaced (and counted in
    /// `RegexLimitHits.redactions`), never passed through.
    func redact(_ text: UnsafeRawBufferPointer, into output: inout ByteWriter) -> Bool {
        ranges.removeAll(keepingCapacity: true)
        let present = TextFeatures(text)
        for pattern in settings.patterns where present.allows(pattern) { pattern.find(in: text, secretKeys: secretKeys, into: &ranges) }
        for matcher in matchers {
            var from = 0
            search: while from <= text.count {
                switch matcher.firstMatch(in: text, from: from) {
                case .none:
                    break search
                case .failed:
                    RegexLimitHits.redactions.add(1)
                    output.append(replacement)
                    return true
                case .match(let found) where found.isEmpty:
                    from = found.upperBound + 1
                case .match(let found):
                    ranges.append(found)
                    from = found.upperBound
                }
            }
        }
        guard !ranges.isEmpty else { return false }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var written = 0
        var current = ranges[0]
        for range in ranges.dropFirst() {
            if range.lowerBound <= current.upperBound {
                current = current.lowerBound..<max(current.upperBound, range.upperBound)
                continue
            }
            written = replace(current, in: text, from: written, into: &output)
            current = range
        }
        written = replace(current, in: text, from: written, into: &output)
        output.append(UnsafeRawBufferPointer(rebasing: text[written...]))
        return true
    }

    private func replace(_ range: Range<Int>, in text: UnsafeRawBufferPointer, from written: Int, into output: inout ByteWriter) -> Int {
        output.append(UnsafeRawBufferPointer(rebasing: text[written..<range.lowerBound]))
        output.append(replacement)
        return range.upperBound
    }
}

/// What one pass over a text finds that the built-in patterns need, so that a pattern that
/// cannot match is not run: most strings have no `@`, too few digits for a card, no `A`, no `b`.
struct TextFeatures {
    var digits = 0
    var at = false
    var capitalA = false
    var letterB = false
    var dot = false
    var colon = false
    var equalsOrColon = false

    init(_ text: UnsafeRawBufferPointer) {
        for byte in text {
            switch byte {
            case 0x30...0x39: digits += 1
            case 0x40: at = true
            case 0x41: capitalA = true
            case 0x42, 0x62: letterB = true
            case 0x2E: dot = true
            case 0x3A: colon = true; equalsOrColon = true
            case 0x3D: equalsOrColon = true
            default: break
            }
        }
    }

    func allows(_ pattern: RedactionPattern) -> Bool {
        switch pattern {
        case .creditCard: digits >= 13
        case .email: at
        case .ipv4: digits >= 4 && dot
        case .ipv6: colon && digits > 0
        case .jwt: dot
        case .bearerToken: letterB
        case .awsKey: capitalA
        case .secrets: equalsOrColon
        }
    }
}
