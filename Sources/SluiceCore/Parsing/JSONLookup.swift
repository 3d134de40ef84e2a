#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds fields inside JSON that is already known to be valid (events in a batch, values the
/// scanner accepted), by skipping rather than parsing.
public enum JSONLookup {
    /// Decodes Go- and JSON-style escapes (`\"`, `\\`, `\/`, `\n`, `\t`, `\r`, `\b`, `\f`,
    /// `\uXXXX`) of a quoted value's content into `output`; an unknown escape is kept as written.
    public static func unescape(_ content: UnsafeRawBufferPointer, into output: inout ByteWriter) {
        var index = 0
        while index < content.count {
            let byte = content[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < content.count else {
                output.append(byte)
                index += 1
                continue
            }
            let escaped = content[index + 1]
            switch escaped {
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "u") where index + 6 <= content.count:
                var scalar: UInt32 = 0
                var valid = true
                for offset in 2..<6 {
                    let digit = content[index + offset]
                    guard digit.isHexDigit else {
                        valid = false
                        break
                    }
                    scalar = scalar << 4 | UInt32(digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : (digit | 0x20) - UInt8(ascii: "a") + 10)
                }
                if valid, let unicode = Unicode.Scalar(scalar) {
                    for unit in String(Character(unicode)).utf8 { output.append(unit) }
                    index += 6
                    continue
                }
                output.append(byte)
                output.append(escaped)
            default:
                output.append(byte)
                output.append(escaped)
            }
            index += 2
        }
    }

    /// The value range of top-level `key` in the object `object` (which starts with `{`).
    /// Keys are compared raw, without decoding escapes.
    public static func value(forKey key: UnsafeRawBufferPointer, inObject object: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let base = object.baseAddress else { return nil }
        var cursor = Cursor(base: base.assumingMemoryBound(to: UInt8.self), end: object.count)
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: "{")) else { return nil }
        while true {
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: "\"") else { return nil }
            let keyStart = cursor.index + 1
            guard cursor.skipString() else { return nil }
            let keyLength = cursor.index - 1 - keyStart
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ":")) else { return nil }
            cursor.skipWhitespace()
            let valueStart = cursor.index
            skipValidValue(&cursor)
            if keyLength == key.count, memcmp(base + keyStart, key.baseAddress!, keyLength) == 0 {
                return valueStart..<cursor.index
            }
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ",")) else { return nil }
        }
    }

    /// The value at a dotted path (`ctx.user`), descending through nested objects.
    public static func value(atPath path: [[UInt8]], inObject object: UnsafeRawBufferPointer) -> Range<Int>? {
        var range = 0..<object.count
        for component in path {
            let current = UnsafeRawBufferPointer(rebasing: object[range])
            guard let found = component.withUnsafeBytes({ value(forKey: $0, inObject: current) }) else { return nil }
            range = (range.lowerBound + found.lowerBound)..<(range.lowerBound + found.upperBound)
        }
        return range
    }

    /// The content of a JSON string value without its quotes (escapes left as written).
    public static func stringContent(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else { return nil }
        return UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
    }

    /// A JSON value as text for people: a string's content with its escapes decoded, anything
    /// else as written.
    public static func text(of value: UnsafeRawBufferPointer) -> String {
        guard let content = stringContent(value) else { return String(decoding: value, as: UTF8.self) }
        var writer = ByteWriter(capacity: content.count)
        JSONLookup.unescape(content, into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Skips one value known to be valid JSON.
    package static func skipValidValue(_ cursor: inout Cursor) {
        var depth = 0
        repeat {
            switch cursor.peek {
            case UInt8(ascii: "\""):
                _ = cursor.skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                cursor.index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                cursor.index += 1
            case 0:
                return
            default:
                if depth == 0 {
                    // A scalar at the top: runs to a delimiter.
                    while cursor.index < cursor.end {
                        switch cursor.peek {
                        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return
                        default: cursor.index += 1
                        }
                    }
                    return
                }
                cursor.index += 1
            }
        } while depth > 0
    }
}
