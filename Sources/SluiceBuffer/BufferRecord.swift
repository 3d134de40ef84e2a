import CZlib
import SluiceCore

/// One batch as a disk buffer stores it: a framed, checksummed record.
///
/// ```
/// record:  magic "REC1" | payload length (u32) | CRC-32 of length and payload (u32) | payload
/// payload: sequence (u64) | appended at, ms (i64) | events (u32) | flags (u8) | stream (u64)
///          | source name length (u16) | source name | first sequence (u64), or one per event
///          | per event: end offset (u32), level (u8), timestamp ms (i64) | NDJSON bytes
/// ```
///
/// Little-endian throughout. The magic lets a reader find the next record after damage; the
/// checksum covers the length, so a damaged length is caught as surely as damaged data. The
/// batch's identity (stream and sequences) travels with it, so an event delivered again after
/// a restart keeps its id.
enum BufferRecord {
    static let magic: UInt32 = 0x3143_4552  // "REC1"
    static let headerBytes = 12
    /// The fixed part of a payload, before the source name.
    static let fixedPayloadBytes = 31
    /// No batch comes near this; a larger length is damage.
    static let maxPayloadBytes = 256 << 20

    /// What the fixed part of a payload says, without decoding the batch.
    struct Summary {
        let sequence: UInt64
        let appendedAtMilliseconds: Int64
        let events: Int
    }

    /// Appends the record for `batch` to `output`.
    static func encode(_ batch: EventBatch, sequence: UInt64, appendedAtMilliseconds: Int64, into output: inout ByteWriter) {
        let start = output.count
        append(magic, to: &output)
        append(UInt32(0), to: &output)  // length, below
        append(UInt32(0), to: &output)  // checksum, below
        let payloadStart = output.count
        append(sequence, to: &output)
        append(UInt64(bitPattern: appendedAtMilliseconds), to: &output)
        append(UInt32(batch.count), to: &output)
        let origin = batch.origin
        let contiguous = (0..<batch.count).allSatisfy { origin.sequence(at: $0) == origin.sequence(at: 0) &+ UInt64($0) }
        output.append(contiguous ? 1 : 0)
        append(origin.stream, to: &output)
        let name = Array(batch.sourceName.utf8.prefix(Int(UInt16.max)))
        append(UInt16(name.count), to: &output)
        output.append(name)
        if contiguous {
            append(batch.count > 0 ? origin.sequence(at: 0) : 0, to: &output)
        } else {
            for position in 0..<batch.count { append(origin.sequence(at: position), to: &output) }
        }
        var end = 0
        for position in 0..<batch.count {
            let record = batch[position]
            end += record.json.count + 1
            append(UInt32(end), to: &output)
            output.append(record.level.rawValue)
            append(UInt64(bitPattern: record.timestampMilliseconds), to: &output)
        }
        output.append(batch.bytes)
        let length = output.count - payloadStart
        let written = output.base + start
        written.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 4, as: UInt32.self)
        let checksum = Self.checksum(UnsafeRawBufferPointer(start: written + 4, count: 4), UnsafeRawBufferPointer(start: written + headerBytes, count: length))
        written.storeBytes(of: checksum.littleEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// The header at the start of `bytes` (at least `headerBytes` long): the payload length
    /// when the magic is right and the length plausible, else nil.
    static func payloadLength(header bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= headerBytes, bytes.loadUnaligned(as: UInt32.self).littleEndian == magic else { return nil }
        let length = Int(bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        return length >= fixedPayloadBytes && length <= maxPayloadBytes ? length : nil
    }

    /// Whether a whole record (header and payload) checks out.
    static func isIntact(_ record: UnsafeRawBufferPointer) -> Bool {
        guard let length = payloadLength(header: record), record.count >= headerBytes + length else { return false }
        let stored = record.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        return stored == checksum(UnsafeRawBufferPointer(rebasing: record[4..<8]), UnsafeRawBufferPointer(rebasing: record[headerBytes..<(headerBytes + length)]))
    }

    static func summary(ofPayload payload: UnsafeRawBufferPointer) -> Summary {
        Summary(
            sequence: payload.loadUnaligned(as: UInt64.self).littleEndian,
            appendedAtMilliseconds: Int64(bitPattern: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian),
            events: Int(payload.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian)
        )
    }

    /// The batch in an intact payload; nil when its parts do not add up (damage the checksum
    /// happened to miss, or a record of another version).
    static func decode(payload: UnsafeRawBufferPointer) -> EventBatch? {
        var reader = PayloadReader(bytes: payload)
        guard let _ = reader.u64(), let _ = reader.u64(), let count = reader.u32().map(Int.init), let flags = reader.u8(),
              let stream = reader.u64(), let nameLength = reader.u16(), let nameBytes = reader.bytes(Int(nameLength)) else { return nil }
        let sourceName = String(decoding: nameBytes, as: UTF8.self)
        let origin: EventOrigin
        if flags & 1 != 0 {
            guard let first = reader.u64() else { return nil }
            origin = EventOrigin(stream: stream, firstSequence: first)
        } else {
            var sequences: [UInt64] = []
            sequences.reserveCapacity(count)
            for _ in 0..<count {
                guard let sequence = reader.u64() else { return nil }
                sequences.append(sequence)
            }
            origin = EventOrigin(stream: stream, sequences: sequences)
        }
        let entriesStart = reader.offset
        guard let _ = reader.bytes(count * 13) else { return nil }
        let ndjson = reader.rest
        var builder = EventBatchBuilder(byteCapacity: max(ndjson.count, 64))
        builder.ndjson.append(ndjson)
        var previous = 0
        for position in 0..<count {
            let entry = entriesStart + position * 13
            let end = Int(payload.loadUnaligned(fromByteOffset: entry, as: UInt32.self).littleEndian)
            guard end > previous, end <= ndjson.count else { return nil }
            let level = EventLevel(rawValue: payload[entry + 4]) ?? .unknown
            let timestamp = Int64(bitPattern: payload.loadUnaligned(fromByteOffset: entry + 5, as: UInt64.self).littleEndian)
            builder.endEvent(atByte: end, level: level, timestampMilliseconds: timestamp)
            previous = end
        }
        guard previous == ndjson.count else { return nil }
        return EventBatch(sourceIndex: -1, builder: builder, origin: origin, sourceName: sourceName)
    }

    static func checksum(_ parts: UnsafeRawBufferPointer...) -> UInt32 {
        var crc = crc32(0, nil, 0)
        for part in parts where part.count > 0 {
            crc = crc32(crc, part.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(part.count))
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to output: inout ByteWriter) {
        withUnsafeBytes(of: value.littleEndian) { output.append($0) }
    }
}

/// Reads a payload front to back; nil once it would read past the end.
private struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    mutating func u8() -> UInt8? { take(1).map { $0[0] } }
    mutating func u16() -> UInt16? { take(2).map { $0.loadUnaligned(as: UInt16.self).littleEndian } }
    mutating func u32() -> UInt32? { take(4).map { $0.loadUnaligned(as: UInt32.self).littleEndian } }
    mutating func u64() -> UInt64? { take(8).map { $0.loadUnaligned(as: UInt64.self).littleEndian } }
    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer? { take(count) }

    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[offset...]) }

    private mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }
}
