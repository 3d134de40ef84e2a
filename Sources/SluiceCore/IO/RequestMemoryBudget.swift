import Synchronization

/// What requests being read, decoded, and waiting to be published may hold in memory, all
/// listening sources together (`limits.request_memory`): a request that would take more is
/// answered 503 with `Retry-After` before it does, as the OpenTelemetry Collector's
/// `memory_limiter` answers, rather than growing the process until the kernel kills it.
public final class RequestMemoryBudget: Sendable {
    public let capacity: Int
    private let used = Atomic<Int>(0)

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// Bytes held now.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit; false (taking nothing) if they do not.
    public func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= capacity else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    public func release(_ bytes: Int) {
        used.subtract(bytes, ordering: .relaxed)
    }
}

/// One request's share of the budget, grown as the request is read and decoded, and given back
/// once its events are published (or it is refused). Used by one thread at a time: the event
/// loop that reads the request, then the source thread that publishes it (the queue between
/// them orders the two).
public final class RequestReservation: Sendable {
    private let budget: RequestMemoryBudget
    private let held = Atomic<Int>(0)

    public init(_ budget: RequestMemoryBudget) {
        self.budget = budget
    }

    public var bytes: Int { held.load(ordering: .relaxed) }

    /// Holds at least `total` bytes in all; false when the budget cannot give the difference.
    public func grow(to total: Int) -> Bool {
        let current = held.load(ordering: .relaxed)
        guard total > current else { return true }
        guard budget.reserve(total - current) else { return false }
        held.store(total, ordering: .relaxed)
        return true
    }

    /// Gives back everything above `total` bytes.
    public func shrink(to total: Int) {
        let current = held.load(ordering: .relaxed)
        guard current > total else { return }
        budget.release(current - total)
        held.store(total, ordering: .relaxed)
    }

    public func releaseAll() {
        shrink(to: 0)
    }
}
