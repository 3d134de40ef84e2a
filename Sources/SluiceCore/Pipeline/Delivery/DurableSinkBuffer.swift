/// A sink's durable buffer between its ring reader and the sink (the disk buffer of the
/// `SluiceBuffer` module): the ring reader appends what the sink takes and never waits for the
/// sink; the sink's thread reads it back in order; a record goes once its ticket is settled.
///
/// One appending thread, one reading thread at a time (a reload hands reading over), and
/// acknowledgements from anywhere.
public protocol DurableSinkBuffer: DeliveryAcknowledger {
    /// Stores a batch under the buffer's `when_full`; `dropped` is told what it drops, and why.
    func append(_ batch: EventBatch, shutdown: ShutdownSignal, dropped: (DropReason, Int) -> Void) -> BufferAppendOutcome

    /// Nothing more will be appended: the reader drains what is left, then sees `drained`.
    func finishAppending()

    /// Syncs what is due under the buffer's `sync` policy (the appending thread, also while idle).
    func syncIfDue()

    /// How often `syncIfDue` should run while nothing is appended.
    var syncIntervalNanoseconds: UInt64 { get }

    /// Makes the calling thread the reader; an earlier reader sees `handedOver`.
    func takeReading() -> Int

    /// The next record for reader `generation`, waiting until the monotonic deadline.
    func next(reader generation: Int, deadlineNanoseconds: UInt64?) -> BufferReadOutcome

    /// Events stored and not yet acknowledged (from earlier runs too).
    var waitingEvents: Int { get }

    /// Its numbers for `/metrics`.
    func metricSamples() -> [MetricSample]

    /// Whether it is above nine tenths of its size (`/healthz` says so).
    var isNearlyFull: Bool { get }

    /// Syncs everything and records its position: the next start resumes where this one stops.
    func close()
}

/// What `DurableSinkBuffer.append` did with a batch.
public enum BufferAppendOutcome: Equatable, Sendable {
    case stored
    /// Refused (`drop_newest` on a full buffer, or a write error under a drop policy).
    case dropped
    /// The stop came while a `block` buffer was full or failing: not stored, not counted.
    case stopped
}

/// What `DurableSinkBuffer.next` found.
public enum BufferReadOutcome {
    case record(EventBatch, DeliveryTicket, endOfRun: Bool)
    case timedOut
    /// Appending has ended and every record has been handed out.
    case drained
    /// Another reader took over (a reload replaced the sink).
    case handedOver
}
