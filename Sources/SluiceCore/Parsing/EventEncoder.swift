#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts of input trouble, kept per encoder and added to shared counters once per batch.
public struct EncodingCounts: Sendable, Equatable {
    public var events = 0
    public var bytes = 0
    /// Lines whose invalid UTF-8 was replaced with U+FFFD.
    public var invalidUTF8Lines = 0
    /// Parts produced by cutting over-long lines.
    public var cutLineParts = 0
    /// Lines of a `json` source that were not JSON objects.
    public var invalidJSONLines = 0

    public init() {}
}

/// Turns lines into NDJSON events, appended to a batch.
///
/// A JSON object line keeps every field exactly as written; Sluice adds `@timestamp` (from the
/// event's own `@timestamp`/`timestamp`/`time`/`ts` when present, else the read time), a
/// normalised `level` when the event names one under another key, and the stream's metadata,
/// and never replaces a field the application wrote. Any other line becomes `message`.
public struct EventEncoder: ~Copyable {
    public let format: InputFormat
    public private(set) var counts = EncodingCounts()
    private let metadataForObjects: EncodedMetadata
    private let metadataForPlainLines: EncodedMetadata
    private var scanner = JSONObjectScanner()
    private var repaired = ByteWriter(capacity: 4096)
    private var readTimeMilliseconds: Int64 = 0
    private var readTimeText = ByteWriter(capacity: 32)

    public init(format: InputFormat, metadata: EventMetadata) {
        self.format = format
        metadataForObjects = EncodedMetadata(metadata)
        metadataForPlainLines = EncodedMetadata(metadata, excluding: ["@timestamp", "level", "message", "@split"])
        setReadTime(EventTimestamp.nowMilliseconds())
    }

    /// The time stamped on events that carry none of their own; set once per read.
    public mutating func setReadTime(_ milliseconds: Int64) {
        guard milliseconds != readTimeMilliseconds else { return }
        readTimeMilliseconds = milliseconds
        readTimeText.removeAll()
        EventTimestamp.format(milliseconds, into: readTimeText.unwrittenSpace(atLeast: EventTimestamp.textLength))
        readTimeText.commit(EventTimestamp.textLength)
    }

    /// Returns the counts gathered since the last call and starts again from zero.
    public mutating func takeCounts() -> EncodingCounts {
        defer { counts = EncodingCounts() }
        return counts
    }

    public mutating func encode(_ line: FramedLine, into batch: inout EventBatchBuilder) {
        var text = line.bytes
        if !UTF8Repair.isValid(text) {
            repaired.removeAll()
            _ = UTF8Repair.repair(text, into: &repaired)
            text = repaired.bytes
            counts.invalidUTF8Lines += 1
        }
        if line.part != 0 {
            counts.cutLineParts += 1
            encodePlain(text, part: line.part, isLastPart: line.isLastPart, into: &batch)
        } else if format != .plain, looksLikeObject(text), scanner.scan(text) {
            encodeObject(text, into: &batch)
        } else {
            if format == .json { counts.invalidJSONLines += 1 }
            encodePlain(text, part: 0, isLastPart: true, into: &batch)
        }
        counts.events += 1
        counts.bytes += line.bytes.count + 1
    }

    @inline(__always)
    private func looksLikeObject(_ text: UnsafeRawBufferPointer) -> Bool {
        for byte in text {
            switch byte {
            case UInt8(ascii: "{"): return true
            case 0x20, 0x09: continue
            default: return false
            }
        }
        return false
    }

    // MARK: Plain lines

    private mutating func encodePlain(_ text: UnsafeRawBufferPointer, part: Int, isLastPart: Bool, into batch: inout EventBatchBuilder) {
        let level = part <= 1 ? PlainLevelSniffer.level(in: text) : .unknown
        batch.ndjson.append("{\"@timestamp\":\"")
        batch.ndjson.append(readTimeText.bytes)
        if level != .unknown {
            batch.ndjson.append("\",\"level\":\"")
            batch.ndjson.append(level.name)
        }
        batch.ndjson.append("\",\"message\":")
        batch.ndjson.appendJSONString(text)
        if part != 0 {
            batch.ndjson.append(",\"@split\":{\"part\":")
            batch.ndjson.append(decimal: part)
            batch.ndjson.append(isLastPart ? ",\"last\":true}" : ",\"last\":false}")
        }
        batch.ndjson.append(metadataForPlainLines.suffix)
        batch.endEvent(level: level, timestampMilliseconds: readTimeMilliseconds)
    }

    // MARK: JSON objects

    private mutating func encodeObject(_ text: UnsafeRawBufferPointer, into batch: inout EventBatchBuilder) {
        let known = KnownFields(scanner.fields, in: text, metadata: metadataForObjects)
        let timestamp = known.timestamp(in: text)
        let (level, writeLevel) = known.level(in: text)

        batch.ndjson.append(UInt8(ascii: "{"))
        var wroteField = false
        if known.atTimestamp == nil {
            batch.ndjson.append("\"@timestamp\":\"")
            if let timestamp {
                EventTimestamp.format(timestamp, into: batch.ndjson.unwrittenSpace(atLeast: EventTimestamp.textLength))
                batch.ndjson.commit(EventTimestamp.textLength)
            } else {
                batch.ndjson.append(readTimeText.bytes)
            }
            batch.ndjson.append(UInt8(ascii: "\""))
            wroteField = true
        }
        if writeLevel {
            batch.ndjson.append(wroteField ? ",\"level\":\"" : "\"level\":\"")
            batch.ndjson.append(level.name)
            batch.ndjson.append(UInt8(ascii: "\""))
            wroteField = true
        }
        if scanner.innerEnd > scanner.innerStart {
            if wroteField { batch.ndjson.append(UInt8(ascii: ",")) }
            batch.ndjson.append(UnsafeRawBufferPointer(rebasing: text[scanner.innerStart..<scanner.innerEnd]))
        }
        if known.metadataCollisions == 0 {
            batch.ndjson.append(metadataForObjects.suffix)
        } else {
            for (position, field) in metadataForObjects.fields.enumerated()
            where known.metadataCollisions & (1 << UInt64(position)) == 0 {
                batch.ndjson.append(field.encoded)
            }
            batch.ndjson.append("}\n")
        }
        batch.endEvent(level: level, timestampMilliseconds: timestamp ?? readTimeMilliseconds)
    }
}
