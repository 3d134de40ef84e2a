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
    /// Lines of a `json`, `logfmt` or `syslog` source that did not parse as such (each became
    /// a `message` event).
    public var unparsedLines = 0

    public init() {}

    public mutating func add(_ other: EncodingCounts) {
        events += other.events
        bytes += other.bytes
        invalidUTF8Lines += other.invalidUTF8Lines
        cutLineParts += other.cutLineParts
        unparsedLines += other.unparsedLines
    }
}

/// Turns lines into NDJSON events, appended to a batch.
///
/// A JSON object line keeps every field exactly as written; logfmt pairs and syslog headers
/// become fields. Sluice adds `@timestamp` (from the event's own `@timestamp`/`timestamp`/
/// `time`/`ts` when present, else the read time), a normalised `level` when the event names
/// one under another key, and the stream's metadata, and never replaces a field the application
/// wrote. Any other line becomes `message`.
public struct EventEncoder: ~Copyable {
    public let format: InputFormat
    public private(set) var counts = EncodingCounts()
    private var metadata: EncodedStreamMetadata
    var metadataForFields: EncodedMetadata { metadata.forFields }
    var metadataForPlainLines: EncodedMetadata { metadata.forPlainLines }
    var metadataForSyslog: EncodedMetadata { metadata.forSyslog }
    var scanner = JSONObjectScanner()
    var logfmt = LogfmtParser()
    var scratch = ByteWriter(capacity: 4096)
    private var repaired = ByteWriter(capacity: 4096)
    private(set) var readTimeMilliseconds: Int64 = 0
    private var readTimeText = ByteWriter(capacity: 32)
    /// The field steps run as JSON objects are written (`fuse(_:)`), and the shaper that runs
    /// them when they touch none of the fields Sluice adds to this stream's events.
    private var fused: FusedShaping?
    /// The shaper of `fused`'s steps, built once per transform; `fusedShaper` while the
    /// stream's metadata allows it.
    private var fusedCandidate: FieldShaper?
    private var fusedShaper: FieldShaper? {
        didSet { fusedShaperReference = fusedShaper.map(Unmanaged.passUnretained) }
    }
    /// `fusedShaper` for the per-event path, which then costs no reference counting.
    private var fusedShaperReference: Unmanaged<FieldShaper>?

    /// Names the transform whose field steps this encoder ran on `builder`'s marked events,
    /// before the batch is sealed.
    func nameShaping(of builder: inout EventBatchBuilder) {
        if builder.hasPreShapedEvents { builder.preShapedBy = fused?.transform }
    }

    public init(format: InputFormat, metadata: EventMetadata) {
        self.format = format
        self.metadata = EncodedStreamMetadata(metadata)
        setReadTime(EventTimestamp.nowMilliseconds())
    }

    /// Encodes the next events with other metadata (a source reading many files, each with its
    /// own `file` field): assigning pre-encoded metadata, no work per event.
    public mutating func use(_ metadata: EncodedStreamMetadata) {
        self.metadata = metadata
        fusedShaper = Self.usable(fusedCandidate, with: metadata.forFields)
    }

    /// Writes JSON objects already reshaped by `shaping`'s field steps from now on (nil: as they
    /// are), marking them so the transform skips those steps. Only when the steps touch no field
    /// Sluice itself writes (`@timestamp`, `level`, the stream's metadata): the transform's own
    /// pass would see those fields, this one does not.
    public mutating func fuse(_ shaping: FusedShaping?) {
        guard shaping?.transform !== fused?.transform else { return }
        fused = shaping
        fusedCandidate = shaping.map { FieldShaper($0.edits) }
        fusedShaper = Self.usable(fusedCandidate, with: metadata.forFields)
    }

    /// `shaper` when its steps touch none of the fields Sluice writes with `metadata`.
    private static func usable(_ shaper: FieldShaper?, with metadata: EncodedMetadata) -> FieldShaper? {
        guard let shaper else { return nil }
        let written = ["@timestamp", "level"] + metadata.fields.map { String(decoding: $0.key, as: UTF8.self) }
        return written.contains(where: shaper.touchedNames.contains) ? nil : shaper
    }

    /// The time stamped on events that carry none of their own; set once per read.
    public mutating func setReadTime(_ milliseconds: Int64) {
        guard milliseconds != readTimeMilliseconds else { return }
        readTimeMilliseconds = milliseconds
        readTimeText.removeAll()
        EventTimestamp.format(milliseconds, into: readTimeText.unwrittenSpace(atLeast: EventTimestamp.textLength))
        readTimeText.commit(EventTimestamp.textLength)
    }

    /// Counts a message cut to the line limit by its transport (a datagram too long).
    public mutating func countTruncated() {
        counts.cutLineParts += 1
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
        counts.events += 1
        counts.bytes += line.bytes.count + 1
        if line.part != 0 {
            counts.cutLineParts += 1
            encodePlain(text, part: line.part, isLastPart: line.isLastPart, into: &batch)
            return
        }
        let parsed: Bool
        switch format {
        case .plain:
            parsed = true
            encodePlain(text, joined: line.isJoined, into: &batch)
            return
        case .auto, .json:
            parsed = looksLikeObject(text) && scanner.scan(text)
            if parsed { encodeObject(text, flatteningNewlines: line.isJoined, into: &batch) }
        case .logfmt:
            parsed = logfmt.parse(text)
            if parsed { encodeLogfmt(text, into: &batch) }
        case .syslog:
            if let message = SyslogParser.parse(text, readTimeMilliseconds: readTimeMilliseconds) {
                encodeSyslog(message, in: text, into: &batch)
                parsed = true
            } else {
                parsed = false
            }
        }
        if !parsed {
            if format != .auto { counts.unparsedLines += 1 }
            encodePlain(text, joined: line.isJoined, into: &batch)
        }
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

    /// - Parameter joined: a multiline group: without a level on its first line, it takes its
    ///   exception line's (`Error: boom` under Node's `file.js:12` is an error).
    private mutating func encodePlain(
        _ text: UnsafeRawBufferPointer, part: Int = 0, isLastPart: Bool = true, joined: Bool = false, into batch: inout EventBatchBuilder
    ) {
        var level = part <= 1 ? PlainLevelSniffer.level(in: text) : .unknown
        if joined && level == .unknown { level = PlainLevelSniffer.traceLevel(in: text) }
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

    // MARK: Shared by the field formats

    /// Writes `{`, then `@timestamp` and `level` where the event lacks them. Returns whether
    /// a field was written (so the next needs a comma).
    mutating func openObject(_ known: KnownFields, timestamp: Int64?, level: EventLevel, writeLevel: Bool, into batch: inout EventBatchBuilder) -> Bool {
        batch.ndjson.append(UInt8(ascii: "{"))
        var wroteField = false
        if known.atTimestamp == nil {
            writeTimestampField(timestamp, into: &batch)
            wroteField = true
        }
        if writeLevel {
            batch.ndjson.append(wroteField ? ",\"level\":\"" : "\"level\":\"")
            batch.ndjson.append(level.name)
            batch.ndjson.append(UInt8(ascii: "\""))
            wroteField = true
        }
        return wroteField
    }

    mutating func writeTimestampField(_ timestamp: Int64?, into batch: inout EventBatchBuilder) {
        batch.ndjson.append("\"@timestamp\":\"")
        if let timestamp {
            EventTimestamp.format(timestamp, into: batch.ndjson.unwrittenSpace(atLeast: EventTimestamp.textLength))
            batch.ndjson.commit(EventTimestamp.textLength)
        } else {
            batch.ndjson.append(readTimeText.bytes)
        }
        batch.ndjson.append(UInt8(ascii: "\""))
    }

    /// Writes the metadata fields the event does not already have, `}` and the newline.
    func closeObject(_ metadata: EncodedMetadata, collisions: UInt64, into batch: inout EventBatchBuilder) {
        if collisions == 0 {
            batch.ndjson.append(metadata.suffix)
            return
        }
        for (position, field) in metadata.fields.enumerated() where collisions & (1 << UInt64(position)) == 0 {
            batch.ndjson.append(field.encoded)
        }
        batch.ndjson.append("}\n")
    }

    // MARK: JSON objects

    /// `flatteningNewlines`: the object spans several joined lines; its raw line breaks (which
    /// valid JSON only allows between tokens) become spaces, so the event stays one NDJSON line.
    private mutating func encodeObject(_ text: UnsafeRawBufferPointer, flatteningNewlines: Bool, into batch: inout EventBatchBuilder) {
        let known = KnownFields.find(in: scanner.fields, text: text, metadata: metadataForFields)
        let timestamp = known.timestamp(in: text)
        let (level, writeLevel) = known.level(in: text)
        let wroteField = openObject(known, timestamp: timestamp, level: level, writeLevel: writeLevel, into: &batch)
        if let shaper = fusedShaperReference, !flatteningNewlines {
            let addsFields = scanner.fields.withUnsafeBufferPointer { fields in
                shaper._withUnsafeGuaranteedRef { $0.shapeMembers(of: text, fields: fields, into: &batch.ndjson, first: !wroteField) }
            }
            closeObject(metadataForFields, collisions: known.metadataCollisions, into: &batch)
            if addsFields {
                batch.ndjson.removeLast(2)  // `}` and the newline
                var first = batch.ndjson.last == UInt8(ascii: "{")
                shaper._withUnsafeGuaranteedRef { $0.appendSetFields(to: &batch.ndjson, first: &first) }
                batch.ndjson.append("}\n")
            }
            batch.endPreShapedEvent(level: level, timestampMilliseconds: timestamp ?? readTimeMilliseconds)
            return
        }
        if scanner.innerEnd > scanner.innerStart {
            if wroteField { batch.ndjson.append(UInt8(ascii: ",")) }
            let start = batch.ndjson.count
            batch.ndjson.append(UnsafeRawBufferPointer(rebasing: text[scanner.innerStart..<scanner.innerEnd]))
            if flatteningNewlines { batch.ndjson.replaceLineBreaksWithSpaces(from: start) }
        }
        closeObject(metadataForFields, collisions: known.metadataCollisions, into: &batch)
        batch.endEvent(level: level, timestampMilliseconds: timestamp ?? readTimeMilliseconds)
    }
}
