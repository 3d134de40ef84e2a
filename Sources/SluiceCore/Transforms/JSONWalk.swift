/// Steps over JSON text Sluice has already validated (events are valid objects): where a
/// string, a value or an object ends. No checks beyond what finding the end needs.
enum JSONWalk {
    @inline(__always)
    static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    /// From the opening quote at `index` to just past the closing one; whether it has escapes.
    @inline(__always)
    static func skipString(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        var escaped = false
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 2
            } else {
                index += 1
            }
        }
        return escaped
    }

    /// From the value's first byte at `index` to just past its end.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        guard index < bytes.count else { return }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            _ = skipString(bytes, &index)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    _ = skipString(bytes, &index)
                    continue
                }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return
                    }
                }
                index += 1
            }
        default:
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || byte == 0x20 || byte == 0x0A
                    || byte == 0x0D || byte == 0x09 { return }
                index += 1
            }
        }
    }

    /// At an object member (after `{` or `,`): the key's range (between its quotes), with
    /// `index` moved to the member's value; nil at the object's end.
    @inline(__always)
    static func memberKey(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Range<Int>? {
        skipWhitespace(bytes, &index)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let keyStart = index + 1
        _ = skipString(bytes, &index)
        let keyEnd = index - 1
        skipWhitespace(bytes, &index)
        index += 1  // the colon
        skipWhitespace(bytes, &index)
        return keyStart..<keyEnd
    }
}
