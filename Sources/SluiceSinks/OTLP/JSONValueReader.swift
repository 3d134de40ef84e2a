#if canImport(Glibc)
import Glibc
#endif

/// Reads values out of JSON text that is known to be valid (an event as Sluice encoded it): the
/// kind of a value, a string's decoded UTF-8, an array's elements and an object's members. No
/// validation and no allocation beyond the decoded strings.
enum JSONValueReader {
    enum Kind {
        case string, number, bool, null, array, object
    }

    static func kind(of value: UnsafeRawBufferPointer) -> Kind {
        switch value.first {
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .bool
        case UInt8(ascii: "n"): .null
        default: .number
        }
    }

    /// The elements of an array, or the members of an object (key without its quotes, value),
    /// in order.
    static func elements(of array: UnsafeRawBufferPointer, _ visit: (UnsafeRawBufferPointer) -> Void) {
        var index = 1
        while true {
            index = skipBlanks(array, index)
            guard index < array.count, array[index] != UInt8(ascii: "]") else { return }
            let end = endOfValue(array, index)
            visit(UnsafeRawBufferPointer(rebasing: array[index..<end]))
            index = skipBlanks(array, end)
            guard index < array.count, array[index] == UInt8(ascii: ",") else { return }
            index += 1
        }
    }

    static func members(of object: UnsafeRawBufferPointer, _ visit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        var index = 1
        while true {
            index = skipBlanks(object, index)
            guard index < object.count, object[index] == UInt8(ascii: "\"") else { return }
            let keyEnd = endOfValue(object, index)
            let key = UnsafeRawBufferPointer(rebasing: object[(index + 1)..<(keyEnd - 1)])
            index = skipBlanks(object, keyEnd) + 1  // the colon
            index = skipBlanks(object, index)
            let valueEnd = endOfValue(object, index)
            visit(key, UnsafeRawBufferPointer(rebasing: object[index..<valueEnd]))
            index = skipBlanks(object, valueEnd)
            guard index < object.count, object[index] == UInt8(ascii: ",") else { return }
            index += 1
        }
    }

    /// The decoded UTF-8 of a JSON string (with its quotes), escapes resolved; unpaired
    /// surrogate escapes become U+FFFD.
    static func decodedString(_ string: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        var index = 1
        let end = string.count - 1
        while index < end {
            let byte = string[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            let escaped = string[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = hex4(string, index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar), index + 6 <= end, string[index] == UInt8(ascii: "\\"), string[index + 1] == UInt8(ascii: "u") {
                    let low = hex4(string, index + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &output)
            default: output.append(escaped)  // \" \\ \/
            }
        }
    }

    /// Whether a string needs decoding (has a backslash); if not, its bytes between the quotes
    /// are the text.
    static func isPlain(_ string: UnsafeRawBufferPointer) -> Bool {
        !string.contains(UInt8(ascii: "\\"))
    }

    private static func hex4(_ text: UnsafeRawBufferPointer, _ start: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = text[start + offset]
            let digit: UInt8 = switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: byte - UInt8(ascii: "A") + 10
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private static func appendUTF8(_ scalar: Unicode.Scalar, to output: inout [UInt8]) {
        var encoded = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        var count = 0
        UTF8.encode(scalar) { unit in
            withUnsafeMutableBytes(of: &encoded) { $0[count] = unit }
            count += 1
        }
        withUnsafeBytes(of: encoded) { output.append(contentsOf: $0.prefix(count)) }
    }

    private static func skipBlanks(_ text: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var index = start
        while index < text.count, text[index] == 0x20 || text[index] == 0x09 || text[index] == 0x0A || text[index] == 0x0D { index += 1 }
        return index
    }

    /// Where the value starting at `start` ends (one past its last byte).
    static func endOfValue(_ text: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var index = start
        switch text[start] {
        case UInt8(ascii: "\""):
            // The next quote not escaped: found with memchr, then the backslashes before it
            // counted (an odd number escapes it).
            guard let base = text.baseAddress else { return text.count }
            index += 1
            while index < text.count, let found = memchr(base + index, 0x22, text.count - index) {
                let quote = UnsafeRawPointer(found) - base
                var backslashes = 0
                while quote - backslashes - 1 >= index, text[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
                if backslashes % 2 == 0 { return quote + 1 }
                index = quote + 1
            }
            return text.count
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < text.count {
                switch text[index] {
                case UInt8(ascii: "\""):
                    index = endOfValue(text, index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default: break
                }
                index += 1
            }
            return index
        default:
            while index < text.count {
                switch text[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return index
                default: index += 1
                }
            }
            return index
        }
    }
}
