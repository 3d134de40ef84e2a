import SluiceCore

/// A destination for events, for a sink type of your own.
///
/// Sluice calls a sink from one thread of its own, one call at a time, with every batch its
/// `inputs` and `where` let through, in order. Everything around it is Sluice's: the ring and
/// its `when_full` policy, retries with backoff, drop counting, metrics
/// (`sluice_sink_events_total{sink=...}` and the rest), `/readyz`, reload and shutdown.
public protocol EventSink: AnyObject {
    /// Delivers a batch. Throw `SinkFailure.retry` for a failure that may pass (under
    /// `when_full: block` the same batch comes again after a backoff, holding the sources back;
    /// under the drop policies it is dropped and counted) and `SinkFailure.drop` for one that
    /// will not (the batch is dropped and counted as `output_closed`).
    func write(_ events: Events) throws

    /// Writes out anything buffered: called when no more batches are ready, and every
    /// `flushInterval` while idle.
    func flush() throws

    /// How often `flush` is called while no batch arrives; nil for never.
    var flushInterval: Duration? { get }

    /// The stream has ended (or the sink is being replaced by a reload): deliver everything and
    /// release what the sink holds.
    func finish() throws
}

extension EventSink {
    public func flush() throws {}
    public var flushInterval: Duration? { nil }
    public func finish() throws { try flush() }
}

/// Why an `EventSink` could not deliver a batch.
public enum SinkFailure: Error, CustomStringConvertible {
    /// The output may recover: retried under `block`, dropped and counted otherwise.
    case retry(String)
    /// The output is gone for good: the batch is dropped and counted.
    case drop(String)

    public var description: String {
        switch self {
        case .retry(let reason), .drop(let reason): reason
        }
    }
}

/// A sink type of your own that finishes delivering after `write` returns (it gathers batches,
/// or sends from a thread of its own): each batch comes with a `DeliveryReceipt` to settle
/// later, from any thread. Behind a disk buffer (`buffer: { type: disk }`) a batch stays on disk
/// until its receipt is settled, so nothing it took is lost if Sluice stops first.
///
/// An `Events` value keeps its batch alive: keep it until you settle its receipt.
public protocol AcknowledgingEventSink: AnyObject {
    /// Takes a batch. Throwing works as for `EventSink.write` (and settles nothing); after a
    /// normal return the receipt must be settled, in parts if need be, exactly once per event.
    func write(_ events: Events, receipt: DeliveryReceipt) throws

    /// As `EventSink.flush`.
    func flush() throws

    /// As `EventSink.flushInterval`.
    var flushInterval: Duration? { get }

    /// The stream has ended: settle every receipt taken (`leftUndelivered` for what cannot be
    /// delivered before the stop), and release what the sink holds.
    func finish() throws
}

extension AcknowledgingEventSink {
    public func flush() throws {}
    public var flushInterval: Duration? { nil }
    public func finish() throws { try flush() }
}

/// What became of the events of one batch an `AcknowledgingEventSink` took; settle every event
/// once, all at once or in parts, from any thread.
public struct DeliveryReceipt: Sendable {
    let report: DeliveryReport
    let ticket: DeliveryTicket
    /// Events in the batch.
    public let count: Int
    let bytes: Int

    /// Every event of the batch was delivered.
    public func delivered() {
        report.delivered(ticket, events: count, bytes: bytes)
    }

    /// `events` of the batch's events were delivered (`bytes` of them, for the byte counter).
    public func delivered(events: Int, bytes: Int = 0) {
        report.delivered(ticket, events: events, bytes: bytes)
    }

    /// `events` could not be delivered and never will be: counted as dropped (`sink_error`).
    public func dropped(events: Int) {
        report.dropped(ticket, .sinkError, events: events)
    }

    /// `events` were refused by the destination for good: counted as dropped (`rejected`).
    public func rejected(events: Int) {
        report.dropped(ticket, .rejected, events: events)
    }

    /// The stop came before `events` could be delivered: behind a disk buffer they stay there
    /// for the next start; behind a memory buffer they are counted as dropped (`shutdown`).
    public func leftUndelivered(events: Int) {
        report.dropped(ticket, .shutdown, events: events)
    }
}

/// The timing parts every extension sink shares.
private func nanoseconds(_ duration: Duration?) -> UInt64? {
    duration.map { duration in
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}

/// `SinkFailure` as the core's `SinkError`.
private func translating(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as SinkFailure {
        switch failure {
        case .retry(let reason): throw SinkError.transient(reason)
        case .drop(let reason): throw SinkError.permanent(reason)
        }
    }
}

/// Runs an `EventSink` as one of Sluice's sinks: a batch is delivered when `write` returns.
final class ExtensionSink: Sink {
    private let sink: any EventSink

    init(_ sink: any EventSink) {
        self.sink = sink
    }

    func write(_ batch: EventBatch, endOfRun: Bool) throws {
        try translating {
            try sink.write(Events(batch: batch, sourceName: batch.sourceName))
            if endOfRun { try sink.flush() }
        }
    }

    func flush() throws {
        try sink.flush()
    }

    var flushIntervalNanoseconds: UInt64? { nanoseconds(sink.flushInterval) }

    func finish() throws {
        try sink.finish()
    }
}

/// Runs an `AcknowledgingEventSink` as one of Sluice's sinks: it settles its receipts itself.
final class AcknowledgingExtensionSink: AcknowledgingSink {
    private let sink: any AcknowledgingEventSink
    private let report: DeliveryReport

    init(_ sink: any AcknowledgingEventSink, report: DeliveryReport) {
        self.sink = sink
        self.report = report
    }

    func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws {
        let receipt = DeliveryReceipt(report: report, ticket: ticket, count: batch.count, bytes: batch.bytes.count)
        try translating {
            try sink.write(Events(batch: batch, sourceName: batch.sourceName), receipt: receipt)
            if endOfRun { try sink.flush() }
        }
    }

    func flush() throws {
        try sink.flush()
    }

    var flushIntervalNanoseconds: UInt64? { nanoseconds(sink.flushInterval) }

    func finish() throws {
        try sink.finish()
    }
}
