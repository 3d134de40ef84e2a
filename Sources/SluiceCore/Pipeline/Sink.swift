import SluiceRing

/// A destination for events. A sink runs on its own thread and sees every batch its inputs
/// produce, in order.
///
/// Like a Disruptor event handler, a sink is told when a run of ready batches ends, so it can
/// buffer within a run and flush once at its end.
public protocol Sink: AnyObject {
    /// Writes one batch. `endOfRun` is true when no further batch is ready right now.
    /// Throwing `SinkError.permanent` drops the batch (counted); any other error is retried
    /// under `when_full: block` and dropped (counted) under the drop policies.
    func write(_ batch: EventBatch, endOfRun: Bool) throws

    /// Writes out anything buffered. Called when a run ends with a batch this sink does not
    /// take, and every `flushIntervalNanoseconds` while idle.
    func flush() throws

    /// How often `flush` is called while no batch arrives; nil for never.
    var flushIntervalNanoseconds: UInt64? { get }

    /// The stream has ended: deliver everything and release resources.
    func finish() throws

    /// SIGHUP for a sink a reload keeps: close the files it writes and start new ones at their
    /// paths (after a rotation tool moved them away). Called on the sink's thread.
    func reopenFiles() throws

    /// True for a sink that finishes delivering after `write` returns (compressing on other
    /// threads, retrying requests): it reports what became of every event through the
    /// `DeliveryReport` it is given, and the runner counts nothing for it.
    var reportsItsOwnDeliveries: Bool { get }

    /// Called once before the first batch.
    func attach(_ report: DeliveryReport)
}

extension Sink {
    public func flush() throws {}
    public var flushIntervalNanoseconds: UInt64? { nil }
    public func finish() throws { try flush() }
    public func reopenFiles() throws {}
    public var reportsItsOwnDeliveries: Bool { false }
    public func attach(_ report: DeliveryReport) {}
}

/// Where a sink reports what became of its events, and whether it is healthy.
public final class DeliveryReport: Sendable {
    public let counters: SinkCounters
    /// Lets a sink's own retry loops stop waiting when the grace period ends.
    public let shutdown: ShutdownSignal
    /// The sink's `when_full` policy, for a sink that retries on its own: under `block` it
    /// keeps what it could not deliver, under the drop policies it counts it as dropped.
    public let whenFull: WhenFull

    public init(counters: SinkCounters, shutdown: ShutdownSignal, whenFull: WhenFull = .block) {
        self.counters = counters
        self.shutdown = shutdown
        self.whenFull = whenFull
    }

    public func delivered(events: Int, bytes: Int) {
        counters.events.add(events)
        counters.bytes.add(bytes)
    }

    public func dropped(_ reason: DropReason, events: Int) {
        counters.dropped(reason).add(events)
    }

    /// Marks the sink unhealthy with a reason (shown by `/readyz`), or healthy again with nil.
    public func setProblem(_ problem: String?) {
        counters.setProblem(problem)
    }
}

/// An error a sink reports about its output.
public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    /// Retrying cannot help (the output is gone for good): drop and count instead.
    public let isPermanent: Bool
    public let dropReason: DropReason

    public static func permanent(_ description: String, reason: DropReason = .outputClosed) -> SinkError {
        SinkError(description: description, isPermanent: true, dropReason: reason)
    }

    public static func transient(_ description: String) -> SinkError {
        SinkError(description: description, isPermanent: false, dropReason: .sinkError)
    }
}

/// What a sink does when it cannot keep up.
public enum WhenFull: String, Sendable, CaseIterable {
    /// Hold the sources back until the sink catches up (writers wait in the kernel).
    case block
    /// Never hold the sources back; when a full ring behind, skip ahead and count the loss.
    case dropOldest = "drop_oldest"
    /// Keep pace with the ring; discard (and count) what the sink cannot take right now.
    case dropNewest = "drop_newest"
}

/// Holds a sink's `DeliveryReport` once it is attached, for threads the sink started before.
public final class DeliveryReportSlot: Sendable {
    private let report = Locked<DeliveryReport?>(nil)

    public init() {}

    public var current: DeliveryReport? { report.withLock { $0 } }

    public func attach(_ report: DeliveryReport) {
        self.report.withLock { $0 = report }
    }
}

/// A sink with state worth keeping when a SIGHUP reload changes its settings (alert windows and
/// cooldowns): the sink built from the reloaded configuration is handed the one of the same name
/// it replaces, after that one has finished and before the new one takes its first batch, on the
/// new one's thread. (A sink whose settings did not change is kept as it is.)
public protocol ReloadInheriting: AnyObject {
    /// Takes over what still applies of `previous`'s state; a sink of another kind is ignored.
    func inherit(from previous: any Sink)
}
