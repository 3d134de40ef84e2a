import Synchronization
import SluiceSync

/// Where `sluice tap` sees events: a source's or transform's output as it is published, and a
/// sink's input as the sink takes it (after its `inputs` and `where`).
///
/// While no one taps, a tap point costs one relaxed atomic load per batch (`isTapped`). While
/// someone does, `offer` copies the events a subscription wants into its bounded queue, under
/// locks it takes only if they are free: a publishing thread never waits for a tap, it skips
/// the batch instead (counted, and reported to the client as dropped, like a full queue). The admin API drains the
/// queues (`AdminEndpoints`, `/api/tap`).
public final class TapHub: Sendable {
    private let subscriberCount = Atomic<Int>(0)
    private let subscriptions = TryLocked<[TapSubscription]>([])
    private let skipped = Atomic<Int>(0)

    public init() {}

    /// Whether anyone taps: the one check on the event path.
    @inline(__always)
    public var isTapped: Bool { subscriberCount.load(ordering: .relaxed) > 0 }

    /// The events of `batch` passing `component` (`point` says which side), to every
    /// subscription that asked for it. Never waits: the list is read under a read lock taken
    /// only if free (readers never exclude each other; it is busy only while a client comes or
    /// goes), and each subscription takes its share under a lock taken only if free, counting
    /// what it had to skip.
    public func offer(_ batch: EventBatch, component: String, point: TapPoint) {
        guard let current = subscriptions.readIfFree() else {
            skipped.add(batch.count, ordering: .relaxed)
            return
        }
        for subscription in current where subscription.wants(component, point) {
            subscription.take(batch, component: component, point: point)
        }
    }

    /// Events that skipped the taps because a client was coming or going at that moment, since
    /// the last call (reported to the tap clients as drops).
    public func takeSkipped() -> Int {
        skipped.exchange(0, ordering: .relaxed)
    }

    public func subscribe(_ subscription: TapSubscription) {
        subscriptions.withValue { $0.append(subscription) }
        subscriberCount.add(1, ordering: .relaxed)
    }

    public func unsubscribe(_ subscription: TapSubscription) {
        let removed = subscriptions.withValue { list -> Bool in
            guard let index = list.firstIndex(where: { $0 === subscription }) else { return false }
            list.remove(at: index)
            return true
        }
        if removed { subscriberCount.subtract(1, ordering: .relaxed) }
    }
}

/// Which side of a component a tap sees.
public enum TapPoint: String, Sendable {
    /// What a source or a transform publishes.
    case output
    /// What a sink takes.
    case input
}
