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

/// Runs an `EventSink` as one of Sluice's sinks.
final class ExtensionSink: Sink {
    private let sink: any EventSink
    private let sourceNames: [String]

    init(_ sink: any EventSink, sourceNames: [String]) {
        self.sink = sink
        self.sourceNames = sourceNames
    }

    func write(_ batch: EventBatch, endOfRun: Bool) throws {
        let sourceName = batch.sourceIndex < sourceNames.count ? sourceNames[batch.sourceIndex] : "unknown"
        do {
            try sink.write(Events(batch: batch, sourceName: sourceName))
            if endOfRun { try sink.flush() }
        } catch let failure as SinkFailure {
            switch failure {
            case .retry(let reason): throw SinkError.transient(reason)
            case .drop(let reason): throw SinkError.permanent(reason)
            }
        }
    }

    func flush() throws {
        try sink.flush()
    }

    var flushIntervalNanoseconds: UInt64? {
        sink.flushInterval.map { duration in
            let (seconds, attoseconds) = duration.components
            return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        }
    }

    func finish() throws {
        try sink.finish()
    }
}
