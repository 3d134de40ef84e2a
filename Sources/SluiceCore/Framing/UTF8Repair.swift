/// UTF-8 validation and repair: every invalid sequence becomes U+FFFD, one replacement per
/// maximal invalid subpart (the Unicode-recommended practice, as browsers do).
public enum UTF8Repair {
    /// Whether `raw` is entirely valid UTF-8. Pure ASCII is checked eight bytes at a time.
    @inline(__always)
    public static func isValid(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let start = raw.baseAddress else { return true }
        var index = 0
        while index + 8 <= raw.count {
            if !SWAR.isASCII(start.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                return validSuffix(raw, from: index)
            }
            index += 8
        }
        return validSuffix(raw, from: index)
    }

    private static func validSuffix(_ raw: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var index = start
        while index < raw.count {
            if raw[index] < 0x80 {
                index += 1
                continue
            }
            let length = validSequenceLength(raw, at: index)
            guard length > 0 else { return false }
            index += length
        }
        return true
    }

    /// Appends `raw` to `output` with each invalid subpart replaced. Returns the replacements.
    public static func repair(_ raw: UnsafeRawBufferPointer, into output: inout ByteWriter) -> Int {
        var replacements = 0
        var index = 0
        var runStart = 0
        while index < raw.count {
            if raw[index] < 0x80 {
                index += 1
                continue
            }
            let length = validSequenceLength(raw, at: index)
            if length > 0 {
                index += length
                continue
            }
            output.append(UnsafeRawBufferPointer(rebasing: raw[runStart..<index]))
            output.append(0xEF)
            output.append(0xBF)
            output.append(0xBD)
            replacements += 1
            index += max(1, validPrefixLength(raw, at: index))
            runStart = index
        }
        output.append(UnsafeRawBufferPointer(rebasing: raw[runStart..<raw.count]))
        return replacements
    }

    /// The allowed range of the second byte after each lead byte, from the Unicode table of
    /// well-formed sequences; later continuation bytes are always 0x80...0xBF.
    @inline(__always)
    private static func shape(of lead: UInt8) -> (length: Int, low: UInt8, high: UInt8)? {
        switch lead {
        case 0xC2...0xDF: (2, 0x80, 0xBF)
        case 0xE0: (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE, 0xEF: (3, 0x80, 0xBF)
        case 0xED: (3, 0x80, 0x9F)
        case 0xF0: (4, 0x90, 0xBF)
        case 0xF1...0xF3: (4, 0x80, 0xBF)
        case 0xF4: (4, 0x80, 0x8F)
        default: nil
        }
    }

    /// Length of the well-formed sequence starting at `index`, or 0.
    @inline(__always)
    private static func validSequenceLength(_ raw: UnsafeRawBufferPointer, at index: Int) -> Int {
        guard let shape = shape(of: raw[index]) else { return 0 }
        return validPrefixLength(raw, at: index) == shape.length ? shape.length : 0
    }

    /// How many bytes from `index` form the start of a well-formed sequence.
    private static func validPrefixLength(_ raw: UnsafeRawBufferPointer, at index: Int) -> Int {
        guard let shape = shape(of: raw[index]) else { return 0 }
        var length = 1
        while length < shape.length, index + length < raw.count {
            let byte = raw[index + length]
            let (low, high): (UInt8, UInt8) = length == 1 ? (shape.low, shape.high) : (0x80, 0xBF)
            guard byte >= low, byte <= high else { break }
            length += 1
        }
        return length
    }
}
