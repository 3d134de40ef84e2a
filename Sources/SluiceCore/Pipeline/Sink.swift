import SluiceSync

/// What every sink has besides its `write`, whichever of the two contracts it keeps (`Sink`,
/// `AcknowledgingSink`). A sink runs on its own thread and sees every batch its inputs produce,
/// in order; every call below comes from that thread.
///
/// Like a Disruptor event handler, a sink is told when a run of ready batches ends, so it can
/// buffer within a run and flush once at its end.
public protocol SinkLifecycle: AnyObject {
    /// Writes out anything buffered. Called when a run ends with a batch this sink does not
    /// take, and every `flushIntervalNanoseconds` while idle.
    func flush() throws

    /// How often `flush` is called while no batch arrives; nil for never.
    var flushIntervalNanoseconds: UInt64? { get }

    /// Called once before the first batch. `replacing` is true when a reload put this sink in
    /// the place of an earlier version of it, which has finished by now if this sink
    /// `startsAfterItsPredecessorFinishes` (the moment to take over what that version left).
    func begin(replacing: Bool)

    /// The stream has ended (or the sink is replaced): settle every batch taken (delivered,
    /// or dropped with a reason; `shutdown` once the stop allows no more waiting) and release
    /// resources.
    func finish() throws

    /// SIGHUP for a sink a reload keeps: close the files it writes and start new ones at their
    /// paths (after a rotation tool moved them away).
    func reopenFiles() throws

    /// Numbers of its own for `/metrics` (beside the counters every sink has).
    func metricSamples() -> [MetricSample]

    /// Whether this sink, replacing an earlier version of it at a reload, starts only once that
    /// version has finished (it takes over state the old one leaves at its end, as alert
    /// windows are), rather than once that version has read its backlog.
    var startsAfterItsPredecessorFinishes: Bool { get }
}

extension SinkLifecycle {
    public func flush() throws {}
    public var flushIntervalNanoseconds: UInt64? { nil }
    public func begin(replacing: Bool) {}
    public func finish() throws { try flush() }
    public func reopenFiles() throws {}
    public func metricSamples() -> [MetricSample] { [] }
    public var startsAfterItsPredecessorFinishes: Bool { false }
}

/// A destination that has delivered a batch when `write` returns (console, blackhole, alerts):
/// its runner settles the batch.
public protocol Sink: SinkLifecycle {
    /// Takes one batch. `endOfRun` is true when no further batch is ready right now.
    /// Throwing `SinkError.permanent` drops the batch (counted); any other error is retried
    /// under `when_full: block` and dropped (counted) under the drop policies.
    func write(_ batch: EventBatch, endOfRun: Bool) throws
}

/// A destination that finishes delivering after `write` returns (compression on other threads,
/// requests with retries, a program's replies): it settles each batch's `DeliveryTicket` itself,
/// later and from any thread, through the `DeliveryReport` it was made with (see `SinkMaker`).
/// A disk buffer lets a record go only once its ticket is settled.
public protocol AcknowledgingSink: SinkLifecycle {
    /// Takes one batch, as `Sink.write`; after a normal return the sink owes a settlement of
    /// every event of `ticket`, in any number of parts.
    func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws
}

/// How a sink's runner gets its sink: a delivering one as it is, an acknowledging one made for
/// the `DeliveryReport` the runner keeps (so the report is there from the sink's first moment,
/// for every thread the sink starts).
public enum SinkMaker {
    case delivering(any Sink)
    /// Everything that can fail (reading certificates, settings) is done before; making the
    /// sink cannot fail.
    case acknowledging((DeliveryReport) -> any AcknowledgingSink)
}

/// The sink a runner feeds, by its contract.
enum RunningSink {
    case delivering(any Sink)
    case acknowledging(any AcknowledgingSink)

    init(_ maker: SinkMaker, report: DeliveryReport) {
        switch maker {
        case .delivering(let sink): self = .delivering(sink)
        case .acknowledging(let make): self = .acknowledging(make(report))
        }
    }

    var lifecycle: any SinkLifecycle {
        switch self {
        case .delivering(let sink): sink
        case .acknowledging(let sink): sink
        }
    }
}

/// State one version of a sink leaves, at its finish, for the version a reload puts in its
/// place (alert windows and cooldowns), typed per sink. The sink's builder keeps one per sink
/// name; the new version takes it in `begin(replacing: true)`, which its runner calls only once
/// the old version has finished (`startsAfterItsPredecessorFinishes`).
public final class SinkStateHandOver<State>: @unchecked Sendable {
    // @unchecked: the state passes from one sink thread to the next under the lock, and the
    // runner's ordering (the new version begins after the old one finished) means no two
    // threads use it at once.
    private let left = Locked<State?>(nil)

    public init() {}

    /// The finishing version's state.
    public func leave(_ state: State) {
        left.withLock { $0 = state }
    }

    /// What the previous version left, once (nil when nothing was left).
    public func take() -> State? {
        left.withLock { state in
            defer { state = nil }
            return state
        }
    }
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

/// One `SinkStateHandOver` per sink name, for a sink type's builder to give each version of a
/// sink the same one.
public final class SinkStateHandOvers<State>: Sendable {
    private let byName = Locked<[String: SinkStateHandOver<State>]>([:])

    public init() {}

    public func handOver(for sinkName: String) -> SinkStateHandOver<State> {
        byName.withLock { byName in
            if let existing = byName[sinkName] { return existing }
            let made = SinkStateHandOver<State>()
            byName[sinkName] = made
            return made
        }
    }
}
