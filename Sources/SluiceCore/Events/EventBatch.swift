/// What a batch records per event besides its bytes.
struct EventIndexEntry {
    var end: Int32
    var level: EventLevel
    /// Written already reshaped by `EventBatchBuilder.preShapedBy`'s leading field steps.
    var preShaped = false
    var timestampMilliseconds: Int64
}

/// A batch of events from one source, as published in one ring slot.
///
/// The events are NDJSON in one buffer (each event one JSON object followed by `\n`), so a sink
/// that writes text writes the buffer as it is, and every sink reads the same bytes: fan-out
/// copies nothing.
///
/// Its events and its input never change once it is made: a transform's output that leaves a
/// batch whole, or a reload that renumbers the inputs, makes another batch over the same events
/// (`relabeled(as:)`), which shares their bytes.
///
/// `@unchecked Sendable`: a batch is made by one producer thread, which gives it its origin and
/// source name before it is published to the ring; nothing changes after that, and the ring's
/// release/acquire ordering hands it to the consumers.
public final class EventBatch: @unchecked Sendable {
    /// The input these events are published as: the index of the source that read them, in
    /// the pipeline's source list, or of a transform's output (see `TransformStage`).
    public let sourceIndex: Int
    /// The name of that source (events carry it as `source`): what sinks name files and
    /// indices by. Set when the batch is published, unless it came with one (replay, a buffer).
    public private(set) var sourceName: String
    /// The stream and sequences that identify the events (see `EventOrigin`).
    public private(set) var origin: EventOrigin
    /// When the events were read (wall-clock milliseconds): when the batch was sealed, or, for
    /// a batch read back from a disk buffer, when it was appended there. A sink's delivery
    /// latency is measured from it.
    public package(set) var readAtMilliseconds: Int64
    private var originIsSet: Bool
    /// The events, shared by every relabelled batch over them.
    private let storage: SealedEvents
    private var contents: EventBatchBuilder { _read { yield storage.contents } }
    private var index: [EventIndexEntry] { contents.index }
    /// The transform whose leading field steps the encoder ran on the events it marked (see
    /// `EventEncoder.fuse(_:)`); nil when it ran none.
    package var preShapedBy: (any AnyObject & Sendable)? { contents.preShapedBy }

    /// Whether the event at `position` was written already reshaped (see `preShapedBy`).
    package func isPreShaped(_ position: Int) -> Bool {
        index[position].preShaped
    }

    /// Seals what a builder collected into a batch. Without an `origin`, publishing it from a
    /// source gives it the source's next sequences (and a batch never published has a stream of
    /// its own).
    public init(sourceIndex: Int, builder: consuming EventBatchBuilder, origin: EventOrigin? = nil, sourceName: String = "") {
        self.sourceIndex = sourceIndex
        self.sourceName = sourceName
        storage = SealedEvents(builder)
        self.origin = origin ?? .standalone()
        originIsSet = origin != nil
        readAtMilliseconds = EventTimestamp.nowMilliseconds()
    }

    /// The same events (their bytes shared, their identities kept) as input `index`.
    private init(relabeling batch: EventBatch, as index: Int) {
        sourceIndex = index
        sourceName = batch.sourceName
        storage = batch.storage
        origin = batch.origin
        originIsSet = batch.originIsSet
        readAtMilliseconds = batch.readAtMilliseconds
    }

    /// Gives the batch the identities of its events, before it is published, by a source that
    /// numbers events itself (by their place in a file, so reading them again gives them the
    /// same identities).
    public func assignOrigin(_ origin: EventOrigin) {
        self.origin = origin
        originIsSet = true
    }

    /// Gives the batch its place in a source's stream, unless it came with an origin (replay).
    /// Called once, by the publishing thread, before the batch is published.
    func assignOrigin(stream: UInt64, counters: SourceCounters) {
        if sourceName.isEmpty { sourceName = counters.name }
        guard !originIsSet else { return }
        origin = EventOrigin(stream: stream, firstSequence: counters.reserveSequences(count))
        originIsSet = true
    }

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }

    /// All events as NDJSON, newline after each.
    public var bytes: UnsafeRawBufferPointer { contents.ndjson.bytes }

    public subscript(position: Int) -> EventRecord {
        let start = position == 0 ? 0 : Int(index[position - 1].end)
        let entry = index[position]
        return EventRecord(
            json: UnsafeRawBufferPointer(start: contents.ndjson.base + start, count: Int(entry.end) - start - 1),
            timestampMilliseconds: entry.timestampMilliseconds,
            level: entry.level,
            stream: origin.stream,
            sequence: origin.sequence(at: position)
        )
    }

    /// The same events for the sinks of another input (a transform's output that left the
    /// batch whole, a reload's renumbering): no bytes are copied.
    package func relabeled(as index: Int) -> EventBatch {
        index == sourceIndex ? self : EventBatch(relabeling: self, as: index)
    }

    /// A new batch of only the events at `positions` (ascending), their bytes copied, for the
    /// sinks of `input` (by default the batch's own).
    public func keeping(_ positions: [Int], as input: Int? = nil) -> EventBatch {
        var builder = EventBatchBuilder(byteCapacity: max(4096, bytes.count / max(1, count) * positions.count + 64))
        for position in positions {
            let entry = index[position]
            builder.ndjson.append(self.bytes(ofEvents: position..<(position + 1)))
            builder.endEvent(level: entry.level, timestampMilliseconds: entry.timestampMilliseconds)
        }
        let kept = EventBatch(sourceIndex: input ?? sourceIndex, builder: builder, origin: origin.keeping(positions), sourceName: sourceName)
        kept.readAtMilliseconds = readAtMilliseconds
        return kept
    }

    /// The NDJSON bytes of events `range` (with their newlines).
    public func bytes(ofEvents range: Range<Int>) -> UnsafeRawBufferPointer {
        guard !range.isEmpty else { return UnsafeRawBufferPointer(start: contents.ndjson.base, count: 0) }
        let start = range.lowerBound == 0 ? 0 : Int(index[range.lowerBound - 1].end)
        let end = Int(index[range.upperBound - 1].end)
        return UnsafeRawBufferPointer(start: contents.ndjson.base + start, count: end - start)
    }

}

/// Collects encoded events for one batch. A value, so the encoding loop works on it without
/// the runtime exclusivity checks that every access to a class property costs.
public struct EventBatchBuilder: ~Copyable {
    public var ndjson: ByteWriter
    var index: [EventIndexEntry] = []
    /// See `EventBatch.preShapedBy`.
    var preShapedBy: (any AnyObject & Sendable)?
    var hasPreShapedEvents = false

    public init(byteCapacity: Int = 64 * 1024) {
        ndjson = ByteWriter(capacity: byteCapacity)
        index.reserveCapacity(byteCapacity / 128)
    }

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }

    /// Records that the bytes appended since the previous event form one event.
    @inline(__always)
    public mutating func endEvent(level: EventLevel, timestampMilliseconds: Int64) {
        index.append(EventIndexEntry(end: Int32(ndjson.count), level: level, timestampMilliseconds: timestampMilliseconds))
    }

    /// Records an event written already reshaped by a transform's leading field steps (whoever
    /// seals the batch names the transform: `preShapedBy`).
    @inline(__always)
    mutating func endPreShapedEvent(level: EventLevel, timestampMilliseconds: Int64) {
        index.append(EventIndexEntry(end: Int32(ndjson.count), level: level, preShaped: true, timestampMilliseconds: timestampMilliseconds))
        hasPreShapedEvents = true
    }

    /// Records that an event ends at byte `end` of `ndjson` (appended already, for many events
    /// at once: a batch read back from a disk buffer).
    @inline(__always)
    public mutating func endEvent(atByte end: Int, level: EventLevel, timestampMilliseconds: Int64) {
        index.append(EventIndexEntry(end: Int32(end), level: level, timestampMilliseconds: timestampMilliseconds))
    }
}

/// One event of a batch: its JSON object (no newline), when it happened, its level, and its
/// identity (stream and sequence, see `EventOrigin`).
public struct EventRecord {
    public let json: UnsafeRawBufferPointer
    public let timestampMilliseconds: Int64
    public let level: EventLevel
    public let stream: UInt64
    public let sequence: UInt64

    public init(json: UnsafeRawBufferPointer, timestampMilliseconds: Int64, level: EventLevel, stream: UInt64 = 0, sequence: UInt64 = 0) {
        self.json = json
        self.timestampMilliseconds = timestampMilliseconds
        self.level = level
        self.stream = stream
        self.sequence = sequence
    }
}

/// A batch's events once sealed: what a batch and its relabelled copies share.
private final class SealedEvents {
    let contents: EventBatchBuilder

    init(_ contents: consuming EventBatchBuilder) {
        self.contents = contents
    }
}
