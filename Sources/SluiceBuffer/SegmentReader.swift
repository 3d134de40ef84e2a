#if canImport(Glibc)
import Glibc
#endif

/// Reads a segment record by record, checking every one, and finds its way past damage: no
/// single damaged byte (or run of them) stops it, because the next intact record is found by
/// its magic and checksum.
struct SegmentReader: ~Copyable {
    enum Item {
        /// An intact record: `bytes` long in all, its payload in `payload` (valid until the next
        /// read).
        case record(offset: Int, bytes: Int, summary: BufferRecord.Summary)
        /// Bytes that are no intact record. `atEnd` when no intact record follows them in the
        /// file (at the end of the newest segment: a write a crash cut short).
        case damaged(Range<Int>, atEnd: Bool)
        case end
    }

    /// The segment file read (the reader can move on to another).
    var descriptor: Int32
    private(set) var payload: UnsafeMutableRawBufferPointer

    init(descriptor: Int32) {
        self.descriptor = descriptor
        payload = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit {
        payload.deallocate()
    }

    /// The payload of the last record read.
    var lastPayload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: payload[0..<lastPayloadBytes]) }
    private var lastPayloadBytes = 0

    /// The item starting at `offset`, reading no further than `size`.
    mutating func item(at offset: Int, size: Int) -> Item {
        guard offset < size else { return .end }
        if let record = intactRecord(at: offset, size: size) { return record }
        let next = nextIntactRecord(after: offset, size: size)
        return .damaged(offset..<(next ?? size), atEnd: next == nil)
    }

    /// The record at `offset` if it is whole and its checksum holds.
    private mutating func intactRecord(at offset: Int, size: Int) -> Item? {
        guard size - offset >= BufferRecord.headerBytes else { return nil }
        var header = (UInt64(0), UInt32(0))
        let got = withUnsafeMutableBytes(of: &header) { pread(descriptor, $0.baseAddress, BufferRecord.headerBytes, off_t(offset)) }
        guard got == BufferRecord.headerBytes else { return nil }
        let length = withUnsafeBytes(of: &header) { BufferRecord.payloadLength(header: $0) }
        guard let length, offset + BufferRecord.headerBytes + length <= size else { return nil }
        if payload.count < length {
            payload.deallocate()
            payload = .allocate(byteCount: length, alignment: 16)
        }
        var read = 0
        while read < length {
            let count = pread(descriptor, payload.baseAddress! + read, length - read, off_t(offset + BufferRecord.headerBytes + read))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            read += count
        }
        let checksum = withUnsafeBytes(of: &header) { header in
            BufferRecord.checksum(UnsafeRawBufferPointer(rebasing: header[4..<8]), UnsafeRawBufferPointer(rebasing: payload[0..<length]))
        }
        let stored = withUnsafeBytes(of: &header) { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian }
        guard checksum == stored else { return nil }
        lastPayloadBytes = length
        return .record(offset: offset, bytes: BufferRecord.headerBytes + length, summary: BufferRecord.summary(ofPayload: lastPayload))
    }

    /// The offset of the first intact record after `offset`, searching by the magic.
    private mutating func nextIntactRecord(after offset: Int, size: Int) -> Int? {
        let chunk = 1 << 16
        var window = [UInt8](repeating: 0, count: chunk + 3)
        var start = offset + 1
        while start < size {
            let count = window.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, min($0.count, size - start), off_t(start)) }
            guard count >= 4 else { return nil }
            var candidates: [Int] = []
            window.withUnsafeBytes { bytes in
                for index in 0...(count - 4) where bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian == BufferRecord.magic {
                    candidates.append(start + index)
                }
            }
            for candidate in candidates where intactRecord(at: candidate, size: size) != nil {
                return candidate
            }
            start += count - 3
        }
        return nil
    }
}
