/// Appends bytes as a JSON string: quotes, backslash escapes and `\u00XX` for control bytes.
/// The input must be valid UTF-8; bytes above 0x7F pass through unchanged.
extension ByteWriter {
    @inline(__always)
    public mutating func appendJSONString(_ raw: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        appendJSONStringContent(raw)
        append(UInt8(ascii: "\""))
    }

    /// Appends a Swift string as a JSON string (not for the per-event path).
    public mutating func appendJSONString(_ string: String) {
        var string = string
        string.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0)) }
    }

    /// The escaped content without the surrounding quotes.
    public mutating func appendJSONStringContent(_ raw: UnsafeRawBufferPointer) {
        guard let start = raw.baseAddress else { return }
        let end = raw.count
        var runStart = 0
        var index = 0
        while index < end {
            // Eight bytes at a time while none needs escaping.
            if index + 8 <= end && !SWAR.hasJSONSpecial(start.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = start.load(fromByteOffset: index, as: UInt8.self)
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            append(UnsafeRawBufferPointer(start: start + runStart, count: index - runStart))
            appendEscape(for: byte)
            index += 1
            runStart = index
        }
        append(UnsafeRawBufferPointer(start: start + runStart, count: end - runStart))
    }

    private mutating func appendEscape(for byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case 0x0A: append("\\n")
        case 0x0D: append("\\r")
        case 0x09: append("\\t")
        case 0x08: append("\\b")
        case 0x0C: append("\\f")
        default:
            append("\\u00")
            append(SWAR.hexDigit(byte >> 4))
            append(SWAR.hexDigit(byte & 0x0F))
        }
    }
}

/// Byte tests eight at a time over a `UInt64` ("SIMD within a register").
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte is zero.
    @inline(__always)
    static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highBits != 0
    }

    /// Whether any byte equals `byte`.
    @inline(__always)
    static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        hasZeroByte(word ^ (ones &* UInt64(byte)))
    }

    /// Whether any byte is below `limit` (limit <= 128).
    @inline(__always)
    static func hasByteBelow(_ word: UInt64, _ limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highBits != 0
    }

    /// Whether any byte is a quote, a backslash or a control character: the bytes that end a
    /// JSON string run.
    @inline(__always)
    static func hasJSONSpecial(_ word: UInt64) -> Bool {
        hasByteBelow(word, 0x20) || hasByte(word, UInt8(ascii: "\"")) || hasByte(word, UInt8(ascii: "\\"))
    }

    @inline(__always)
    static func isASCII(_ word: UInt64) -> Bool {
        word & highBits == 0
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
