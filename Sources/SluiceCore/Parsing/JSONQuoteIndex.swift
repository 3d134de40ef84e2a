import CJSONBits

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the quotes of a line are, one bit per byte, found 64 bytes at a time (SSE2 in
/// `CJSONBits`), so that the scanner skips a string by finding the next quote bit instead of
/// looking at each byte of its body.
///
/// The index is built only for a line with no backslash: then every quote opens or closes a
/// string and no body needs its escapes checked, so the next quote after an opening one is the
/// string's end. Which bytes lie inside strings is the running XOR of the quote bits; a control
/// character there makes the line invalid JSON, found while building. Lines with a backslash,
/// or longer than `maxBytes`, are scanned byte by byte as before (`Cursor.skipString`).
struct JSONQuoteIndex: ~Copyable {
    enum Outcome {
        /// `closingQuote(after:)` may be used for this line.
        case built
        /// The line has a backslash or is too long: scan its strings byte by byte.
        case notIndexed
        /// A string holds a raw control character: the line is not JSON.
        case invalid
    }

    static let maxBytes = 64 * 1024

    private let words: UnsafeMutablePointer<UInt64>
    private var wordCount = 0
    private(set) var isBuilt = false

    init() {
        words = .allocate(capacity: Self.maxBytes / 64)
    }

    deinit {
        words.deallocate()
    }

    mutating func build(_ base: UnsafePointer<UInt8>, count: Int) -> Outcome {
        isBuilt = false
        guard count <= Self.maxBytes else { return .notIndexed }
        var insideString: UInt64 = 0
        var offset = 0
        var word = 0
        while offset + 64 <= count {
            let outcome = add(sluice_json_block(base + offset), at: word, insideString: &insideString)
            guard outcome == .built else { return outcome }
            offset += 64
            word += 1
        }
        if offset < count {
            // The last part block, padded with spaces: no quote, backslash or control.
            let outcome = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { block in
                let start = block.baseAddress!
                memset(start, 0x20, 64)
                memcpy(start, base + offset, count - offset)
                return add(sluice_json_block(start), at: word, insideString: &insideString)
            }
            guard outcome == .built else { return outcome }
            word += 1
        }
        wordCount = word
        isBuilt = true
        return .built
    }

    /// The offset of the first quote after `opening`, or nil when the line has none.
    @inline(__always)
    func closingQuote(after opening: Int) -> Int? {
        let start = opening &+ 1
        var word = start &>> 6
        guard word < wordCount else { return nil }
        var bits = words[word] & (~UInt64(0) &<< UInt64(start & 63))
        while bits == 0 {
            word &+= 1
            guard word < wordCount else { return nil }
            bits = words[word]
        }
        return word &<< 6 &+ bits.trailingZeroBitCount
    }

    @inline(__always)
    private func add(_ bits: sluice_json_block_bits, at word: Int, insideString: inout UInt64) -> Outcome {
        guard bits.backslashes == 0 else { return .notIndexed }
        // Bit i set when byte i is an opening quote or inside a string's body.
        let strings = Self.prefixXOR(bits.quotes) ^ insideString
        guard bits.controls & strings == 0 else { return .invalid }
        insideString = UInt64(bitPattern: Int64(bitPattern: strings) >> 63)
        words[word] = bits.quotes
        return .built
    }

    /// Bit i of the result is the XOR of bits 0 through i.
    @inline(__always)
    private static func prefixXOR(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x &<< 1
        x ^= x &<< 2
        x ^= x &<< 4
        x ^= x &<< 8
        x ^= x &<< 16
        x ^= x &<< 32
        return x
    }
}
