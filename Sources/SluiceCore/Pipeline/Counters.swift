import Synchronization
import SluiceSync

/// A monotonically increasing count shared between threads.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    public init() {}

    @inline(__always)
    public func add(_ amount: Int) {
        if amount != 0 { value.add(amount, ordering: .relaxed) }
    }

    public var current: Int { value.load(ordering: .relaxed) }
}

/// A value that goes up and down (files open, bytes behind), set by one thread, read by any.
public final class Gauge: Sendable {
    private let value = Atomic<Int>(0)

    public init() {}

    public func store(_ newValue: Int) {
        value.store(newValue, ordering: .relaxed)
    }

    public var current: Int { value.load(ordering: .relaxed) }
}

/// What a source has read, and the trouble it found in its input.
public final class SourceCounters: Sendable {
    public let name: String
    public let events = Counter()
    public let bytes = Counter()
    public let invalidUTF8Lines = Counter()
    public let cutLineParts = Counter()
    public let unparsedLines = Counter()
    /// Connections a listening source could not accept for want of descriptors or memory.
    public let acceptErrors = Counter()
    /// Connections a listening source closed at `max_connections` to let a waiting client in
    /// (the one quiet longest).
    public let evictedConnections = Counter()
    /// Input lost before Sluice could read it (a file source's file gone while Sluice was
    /// stopped, with bytes past its checkpoint), in bytes.
    public let lostInputBytes = Counter()
    /// Events counted in (`events`) that went into the ring (to the sinks, or to no sink when
    /// none takes them any more).
    public let published = Counter()
    /// Events counted in that never went in: the pipeline stopped first. Counted as dropped at
    /// the source (`shutdown`).
    public let unpublished = Counter()
    private let ready = Atomic<Bool>(false)
    /// The next sequence of the source's stream (see `EventOrigin`).
    private let nextSequence = Atomic<UInt64>(0)

    public init(name: String) {
        self.name = name
    }

    /// Whether the source is reading (sockets: listening); `/readyz` waits for every source.
    public var isReady: Bool { ready.load(ordering: .relaxed) }

    public func markReady() {
        ready.store(true, ordering: .relaxed)
    }

    /// Reserves `count` consecutive sequences of the source's stream; returns the first.
    func reserveSequences(_ count: Int) -> UInt64 {
        nextSequence.add(UInt64(count), ordering: .relaxed).oldValue
    }

    public func add(_ counts: EncodingCounts) {
        events.add(counts.events)
        bytes.add(counts.bytes)
        invalidUTF8Lines.add(counts.invalidUTF8Lines)
        cutLineParts.add(counts.cutLineParts)
        unparsedLines.add(counts.unparsedLines)
    }
}

/// Why a sink did not deliver an event.
public enum DropReason: String, Sendable, CaseIterable {
    /// `drop_oldest`: the sink fell a full ring behind and skipped ahead.
    case ringOverrun = "ring_overrun"
    /// `drop_newest`: the sink's downstream was busy when the event arrived.
    case sinkBusy = "sink_busy"
    /// The sink failed to write and its policy is not to wait (or the failure is permanent).
    case sinkError = "sink_error"
    /// The sink's output is gone for good (stdout closed, for example).
    case outputClosed = "output_closed"
    /// Shutdown's grace period ended while the sink was still failing.
    case shutdown
    /// The server rejected the event for good (a mapping error, say); it is in the dead-letter file.
    case deadLettered = "dead_lettered"
    /// The server rejected the event for good and there is no dead-letter file to keep it.
    case rejected
    /// The destination had a document with the event's id already (an indexer's 409): Sluice's
    /// own earlier write whose answer was lost, or a document someone else wrote. Counted apart
    /// from deliveries because the two cannot be told apart.
    case alreadyPresent = "already_present"
    /// The sink's disk buffer was full (`max_bytes`, or the disk) and refused the batch
    /// (`drop_newest`, or a write error under a drop policy).
    case bufferFull = "buffer_full"
    /// The sink's disk buffer was full and its oldest segment was deleted (`drop_oldest`).
    case bufferOverrun = "buffer_overrun"
}

/// What a sink has delivered and dropped, and what is wrong with it, if anything.
public final class SinkCounters: Sendable {
    public let name: String
    public let events = Counter()
    public let bytes = Counter()
    /// Time from read to delivery, per event.
    public let latency = LatencyHistogram()
    /// Writes retried after a failure.
    public let retries = Counter()
    /// Events of the sink's inputs that passed its `where`, counted as they leave the ring:
    /// what it has taken on, so `accepted - delivered - droppedAfterTaking` is what it still
    /// holds.
    public let accepted = Counter()
    /// Whether a reload replaced the sink while it ran (its counters carried on): a record it
    /// gave back whole after delivering part of it is delivered twice, so its books need not
    /// balance to the event.
    private let replaced = Atomic<Bool>(false)
    private let droppedByReason: [DropReason: Counter]
    private let problem = Locked<(description: String, sinceNanoseconds: UInt64)?>(nil)

    public init(name: String) {
        self.name = name
        droppedByReason = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0, Counter()) })
    }

    public func dropped(_ reason: DropReason) -> Counter {
        droppedByReason[reason]!
    }

    public var droppedTotal: Int {
        droppedByReason.values.reduce(0) { $0 + $1.current }
    }

    /// Dropped after the sink took the events on: every reason but `ring_overrun`, which counts
    /// events a `drop_oldest` sink never read.
    public var droppedAfterTaking: Int {
        droppedTotal - dropped(.ringOverrun).current
    }

    public var wasReplaced: Bool { replaced.load(ordering: .relaxed) }

    func markReplaced() {
        replaced.store(true, ordering: .relaxed)
    }

    /// Why the sink is unhealthy; nil when it is healthy.
    public var currentProblem: String? { problem.withLock { $0?.description } }

    /// How long the sink has been unhealthy (monotonic nanoseconds since); nil when healthy.
    public var problemSinceNanoseconds: UInt64? { problem.withLock { $0?.sinceNanoseconds } }

    func setProblem(_ description: String?) {
        problem.withLock { current in
            guard let description else {
                current = nil
                return
            }
            current = (description, current?.sinceNanoseconds ?? MonotonicClock.nowNanoseconds())
        }
    }
}
