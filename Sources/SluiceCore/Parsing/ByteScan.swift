import CTextBits

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fast searches in a line's bytes for the per-line paths (level guessing, trace detection):
/// `memchr` rather than the generic collection algorithms, which cost a call per byte.
extension UnsafeRawBufferPointer {
    /// The first `byte` in `start..<end`, by `memchr`.
    @inline(__always)
    public func firstOffset(of byte: UInt8, from start: Int = 0, to end: Int? = nil) -> Int? {
        let end = end ?? count
        guard start < end, let base = baseAddress, let found = memchr(base + start, Int32(byte), end - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The end of the first word: the first blank (space or tab) from `start`, or `count`.
    @inline(__always)
    func endOfWord(from start: Int = 0) -> Int {
        guard start < count, let base = baseAddress else { return start }
        return start + sluice_word_end(base.assumingMemoryBound(to: UInt8.self) + start, count - start)
    }

    /// The end of the run of prefix bytes (digits, blanks, timestamp and bracket punctuation,
    /// see `sluice_is_prefix_byte`) from `start`.
    @inline(__always)
    func endOfPrefixBytes(from start: Int) -> Int {
        guard start < count, let base = baseAddress else { return start }
        return start + sluice_prefix_span(base.assumingMemoryBound(to: UInt8.self) + start, count - start)
    }

    /// Whether the bytes `range` equal `word` (ASCII, as written).
    @inline(__always)
    func equals(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        for index in 0..<range.count where self[range.lowerBound + index] != word.utf8Start[index] { return false }
        return true
    }
}
