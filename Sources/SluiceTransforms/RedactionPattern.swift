import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// The secrets and personal data `redact` finds by name, each by a scanner over the text (no
/// regex): what each matches, and what it leaves alone so that look-alikes survive.
public enum RedactionPattern: String, CaseIterable, Sendable {
    /// 13 to 19 digits, optionally grouped by single spaces or dashes, starting with 2 to 6 (the
    /// card networks' ranges) and passing the Luhn check; not part of a longer run of digits or
    /// letters. Order numbers and timestamps fail the check nine times in ten, and ids that
    /// start with 0, 1, 7, 8 or 9 are never taken.
    case creditCard = "credit_card"
    /// `local@domain.tld`: the local part of letters, digits and `._%+-`, a domain with a dot
    /// and a top-level name of two letters or more. `user@localhost` is left.
    case email
    /// A dotted quad of numbers 0 to 255 (opt-in: version strings like `1.2.3.4` look the same).
    case ipv4
    /// An IPv6 address as `inet_pton` reads it, with at least two groups and a digit (so
    /// `std::dec` or `::a` in text are left) (opt-in).
    case ipv6
    /// A JSON Web Token: `eyJ...` header, `.`, payload, `.`, signature, in base64url.
    case jwt
    /// The token after `Bearer ` (any case), eight characters or more; the word stays.
    case bearerToken = "bearer_token"
    /// An AWS access key id: `AKIA`, `ASIA`, `ABIA` or `ACCA` and 16 capitals or digits.
    case awsKey = "aws_key"
    /// The value after a secret's key name in text: `password=...`, `token: ...`,
    /// `"api_key":"..."` (the names in `secret_keys`). A JSON field with such a name has its
    /// whole value replaced, whatever this list says.
    case secrets

    /// Adds the ranges of this pattern's matches in `text` to `ranges`.
    func find(in text: UnsafeRawBufferPointer, secretKeys: [[UInt8]], into ranges: inout [Range<Int>]) {
        switch self {
        case .creditCard: Self.findCards(text, &ranges)
        case .email: Self.findEmails(text, &ranges)
        case .ipv4: Self.findIPv4(text, &ranges)
        case .ipv6: Self.findIPv6(text, &ranges)
        case .jwt: Self.findTokens(text, &ranges)
        case .bearerToken: Self.findBearer(text, &ranges)
        case .awsKey: Self.findAWSKeys(text, &ranges)
        case .secrets: Self.findSecretValues(text, keys: secretKeys, &ranges)
        }
    }

    /// Where a secret's value in text ends: space, quotes, `&`, `,`, `;`, newline, tab, `}`.
    @inline(__always) static func isValueEnd(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x22, 0x27, 0x26, 0x2C, 0x3B, 0x0A, 0x09, 0x7D: true
        default: false
        }
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isWordByte(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) || byte == UInt8(ascii: "_") }
    @inline(__always) static func isBase64URL(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) || byte == 0x2D || byte == 0x5F }

    private static func findCards(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        while index < text.count {
            guard isDigit(text[index]), index == 0 || !isWordByte(text[index - 1]) else {
                index += 1
                continue
            }
            var digits = 0
            var end = index
            var cursor = index
            while cursor < text.count, digits <= 19 {
                let byte = text[cursor]
                if isDigit(byte) {
                    digits += 1
                    cursor += 1
                    end = cursor
                } else if byte == 0x20 || byte == 0x2D, cursor + 1 < text.count, isDigit(text[cursor + 1]) {
                    cursor += 1
                } else {
                    break
                }
            }
            let bounded = end >= text.count || !isWordByte(text[end])
            if bounded, (13...19).contains(digits), (0x32...0x36).contains(text[index]), luhn(text[index..<end]) {
                ranges.append(index..<end)
            }
            index = max(end, index + 1)
        }
    }

    /// The Luhn check over the digits of `text` (separators skipped).
    static func luhn(_ text: Slice<UnsafeRawBufferPointer>) -> Bool {
        var sum = 0
        var position = 0
        var index = text.endIndex
        while index > text.startIndex {
            index -= 1
            let byte = text[index]
            guard isDigit(byte) else { continue }
            var value = Int(byte - 0x30)
            if position % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
            position += 1
        }
        return sum % 10 == 0
    }

    private static func findEmails(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        guard let base = text.baseAddress else { return }
        var from = 0
        while from < text.count, let found = memchr(base + from, 0x40, text.count - from) {
            let at = UnsafeRawPointer(found) - base
            from = at + 1
            var start = at
            while start > 0, isWordByte(text[start - 1]) || text[start - 1] == 0x2E || text[start - 1] == 0x25 || text[start - 1] == 0x2B || text[start - 1] == 0x2D {
                start -= 1
            }
            var end = at + 1
            while end < text.count, isDigit(text[end]) || isLetter(text[end]) || text[end] == 0x2E || text[end] == 0x2D { end += 1 }
            while end > at + 1, text[end - 1] == 0x2E || text[end - 1] == 0x2D { end -= 1 }
            guard start < at, end > at + 1 else { continue }
            let domain = text[(at + 1)..<end]
            guard let lastDot = domain.lastIndex(of: 0x2E), lastDot > at + 1, end - lastDot - 1 >= 2,
                  text[(lastDot + 1)..<end].allSatisfy(isLetter) else { continue }
            ranges.append(start..<end)
            from = end
        }
    }

    private static func findIPv4(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        while index < text.count {
            guard isDigit(text[index]), index == 0 || !(isWordByte(text[index - 1]) || text[index - 1] == 0x2E) else {
                index += 1
                continue
            }
            var cursor = index
            var parts = 0
            var valid = true
            while parts < 4 {
                var value = 0, length = 0
                while cursor < text.count, isDigit(text[cursor]), length < 4 {
                    value = value * 10 + Int(text[cursor] - 0x30)
                    length += 1
                    cursor += 1
                }
                guard (1...3).contains(length), value <= 255 else {
                    valid = false
                    break
                }
                parts += 1
                if parts < 4 {
                    guard cursor < text.count, text[cursor] == 0x2E else {
                        valid = false
                        break
                    }
                    cursor += 1
                }
            }
            if valid, cursor >= text.count || !(isWordByte(text[cursor]) || (text[cursor] == 0x2E && cursor + 1 < text.count && isDigit(text[cursor + 1]))) {
                ranges.append(index..<cursor)
                index = cursor
            } else {
                while index < text.count, isDigit(text[index]) || text[index] == 0x2E { index += 1 }
            }
        }
    }

    private static func findIPv6(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        let isPart = { (byte: UInt8) in isDigit(byte) || (byte | 0x20) &- 0x61 < 6 || byte == 0x3A || byte == 0x2E }
        while index < text.count {
            guard isPart(text[index]), index == 0 || !(isWordByte(text[index - 1]) || text[index - 1] == 0x3A) else {
                index += 1
                continue
            }
            var end = index
            var colons = 0
            while end < text.count, isPart(text[end]) {
                if text[end] == 0x3A { colons += 1 }
                end += 1
            }
            let candidate = text[index..<end]
            let groups = candidate.split(separator: 0x3A, omittingEmptySubsequences: true).count
            if colons >= 2, groups >= 2, candidate.contains(where: isDigit), end - index <= 45, end >= text.count || !isWordByte(text[end]) {
                var address = in6_addr()
                let terminated = Array(candidate) + [0]
                if terminated.withUnsafeBufferPointer({ inet_pton(AF_INET6, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &address) }) == 1 {
                    ranges.append(index..<end)
                }
            }
            index = max(end, index + 1)
        }
    }

    private static func findTokens(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        while index + 3 <= text.count {
            guard text[index] == 0x65, text[index + 1] == 0x79, text[index + 2] == 0x4A, index == 0 || !isBase64URL(text[index - 1]) else {
                index += 1
                continue
            }
            var cursor = index
            var segments: [Int] = []
            var length = 0
            while cursor < text.count {
                if isBase64URL(text[cursor]) {
                    length += 1
                } else if text[cursor] == 0x2E, segments.count < 2 {
                    segments.append(length)
                    length = 0
                } else {
                    break
                }
                cursor += 1
            }
            segments.append(length)
            if segments.count == 3, segments[0] >= 10, segments[1] >= 10 {
                ranges.append(index..<cursor)
                index = cursor
            } else {
                index += 3
            }
        }
    }

    private static func findBearer(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        let length = 6
        while index + length < text.count {
            guard text[index] | 0x20 == 0x62, index == 0 || !isWordByte(text[index - 1]),
                  text[index + 1] | 0x20 == 0x65, text[index + 2] | 0x20 == 0x61, text[index + 3] | 0x20 == 0x72,
                  text[index + 4] | 0x20 == 0x65, text[index + 5] | 0x20 == 0x72, text[index + length] == 0x20 else {
                index += 1
                continue
            }
            var start = index + length
            while start < text.count, text[start] == 0x20 { start += 1 }
            var end = start
            while end < text.count, isWordByte(text[end]) || text[end] == 0x2D || text[end] == 0x2E || text[end] == 0x7E || text[end] == 0x2B || text[end] == 0x2F {
                end += 1
            }
            while end < text.count, text[end] == 0x3D { end += 1 }
            if end - start >= 8 { ranges.append(start..<end) }
            index = max(end, index + 1)
        }
    }

    private static func findAWSKeys(_ text: UnsafeRawBufferPointer, _ ranges: inout [Range<Int>]) {
        var index = 0
        while index + 20 <= text.count {
            guard text[index] == 0x41, index == 0 || !isWordByte(text[index - 1]), isAWSPrefix(text[index + 1], text[index + 2], text[index + 3]) else {
                index += 1
                continue
            }
            var body = index + 4
            while body < index + 20, isDigit(text[body]) || text[body] &- 0x41 < 26 { body += 1 }
            if body == index + 20, index + 20 >= text.count || !isWordByte(text[index + 20]) {
                ranges.append(index..<(index + 20))
                index += 20
            } else {
                index += 1
            }
        }
    }

    /// `KIA`, `SIA`, `BIA` or `CCA` after an `A`: AKIA, ASIA, ABIA, ACCA.
    @inline(__always)
    private static func isAWSPrefix(_ first: UInt8, _ second: UInt8, _ third: UInt8) -> Bool {
        (second == 0x49 && third == 0x41 && (first == 0x4B || first == 0x53 || first == 0x42)) || (first == 0x43 && second == 0x43 && third == 0x41)
    }

    private static func findSecretValues(_ text: UnsafeRawBufferPointer, keys: [[UInt8]], _ ranges: inout [Range<Int>]) {
        for key in keys where !key.isEmpty {
            var index = 0
            while index + key.count < text.count {
                var same = index == 0 || !(isDigit(text[index - 1]) || isLetter(text[index - 1]))
                var offset = 0
                while same, offset < key.count {
                    same = text[index + offset] | 0x20 == key[offset] | 0x20
                    offset += 1
                }
                guard same else {
                    index += 1
                    continue
                }
                var cursor = index + key.count
                if cursor < text.count, text[cursor] == 0x22 || text[cursor] == 0x27 { cursor += 1 }
                while cursor < text.count, text[cursor] == 0x20 { cursor += 1 }
                guard cursor < text.count, text[cursor] == 0x3D || text[cursor] == 0x3A else {
                    index += 1
                    continue
                }
                cursor += 1
                while cursor < text.count, text[cursor] == 0x20 { cursor += 1 }
                if cursor < text.count, text[cursor] == 0x22 || text[cursor] == 0x27 { cursor += 1 }
                let start = cursor
                while cursor < text.count, !isValueEnd(text[cursor]) { cursor += 1 }
                if cursor > start { ranges.append(start..<cursor) }
                index = max(cursor, index + 1)
            }
        }
    }
}
