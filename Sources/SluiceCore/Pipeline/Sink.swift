
/// A destination for events: the one contract every sink keeps, built-in or not. A sink runs on
/// its own thread and sees every batch its inputs produce, in order.
///
/// Like a Disruptor event handler, a sink is told when a run of ready batches ends, so it can
/// buffer within a run and flush once at its end. Every batch comes with a `DeliveryTicket`;
/// what becomes of its events is acknowledged through the `DeliveryReport` the sink is given:
/// by the runner when `write` returns (a sink that delivers before it returns), or by the sink
/// itself, later and from any thread, for a sink that finishes delivering on its own
/// (`reportsItsOwnDeliveries`: compression on other threads, requests with retries). A disk
/// buffer lets a record go only once its ticket is settled.
public protocol Sink: AnyObject {
    /// Takes one batch. `endOfRun` is true when no further batch is ready right now.
    /// Throwing `SinkError.permanent` drops the batch (counted); any other error is retried
    /// under `when_full: block` and dropped (counted) under the drop policies.
    func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws

    /// Writes out anything buffered. Called when a run ends with a batch this sink does not
    /// take, and every `flushIntervalNanoseconds` while idle.
    func flush() throws

    /// How often `flush` is called while no batch arrives; nil for never.
    var flushIntervalNanoseconds: UInt64? { get }

    /// The stream has ended (or the sink is replaced): settle every ticket taken (delivered,
    /// or dropped with a reason; `shutdown` once the stop allows no more waiting) and release
    /// resources.
    func finish() throws

    /// SIGHUP for a sink a reload keeps: close the files it writes and start new ones at their
    /// paths (after a rotation tool moved them away). Called on the sink's thread.
    func reopenFiles() throws

    /// True for a sink that settles its tickets itself, after `write` returns.
    var reportsItsOwnDeliveries: Bool { get }

    /// Called once before the first batch: where to acknowledge, report health, and learn of
    /// the stop.
    func attach(_ report: DeliveryReport)

    /// Numbers of its own for `/metrics` (beside the counters every sink has).
    func metricSamples() -> [MetricSample]

    /// Whether a replacement of this sink at a reload takes over its state (`inherit`), so it
    /// starts only once this one has finished.
    var inheritsState: Bool { get }

    /// A reload changed this sink's settings and this sink replaces `previous` (of the same
    /// name), which has finished: take over what still applies of its state (alert windows and
    /// cooldowns). Called on this sink's thread before its first batch.
    func inherit(from previous: any Sink)
}

extension Sink {
    public func flush() throws {}
    public var flushIntervalNanoseconds: UInt64? { nil }
    public func finish() throws { try flush() }
    public func reopenFiles() throws {}
    public var reportsItsOwnDeliveries: Bool { false }
    public func attach(_ report: DeliveryReport) {}
    public func metricSamples() -> [MetricSample] { [] }
    public var inheritsState: Bool { false }
    public func inherit(from previous: any Sink) {}
}

/// An error a sink reports about its output.
public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    /// Retrying cannot help (the output is gone for good): drop and count instead.
    public let isPermanent: Bool
    public let dropReason: DropReason
    /// For a permanent error: how many events at the start of the batch, and how many of its
    /// bytes, went out before the output went away (`sluice | head` takes a few lines).
    public private(set) var deliveredPrefix: (events: Int, bytes: Int) = (0, 0)

    public static func permanent(_ description: String, reason: DropReason = .outputClosed) -> SinkError {
        SinkError(description: description, isPermanent: true, dropReason: reason)
    }

    public static func transient(_ description: String) -> SinkError {
        SinkError(description: description, isPermanent: false, dropReason: .sinkError)
    }

    /// This error, with the first `events` events of the batch (`bytes` long) delivered.
    public func afterDelivering(events: Int, bytes: Int) -> SinkError {
        var error = self
        error.deliveredPrefix = (events, bytes)
        return error
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
