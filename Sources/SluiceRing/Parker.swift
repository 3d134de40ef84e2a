import Synchronization

/// Where threads sleep when there is nothing to do, so an idle Sluice burns no CPU.
///
/// A waker only makes a system call when someone is asleep: `wakeAll()` is one fence and one
/// relaxed load on the hot path.
final class Parker: Sendable {
    private let lock = ConditionLock()
    private let sleepers = Atomic<Int>(0)

    /// Sleeps until `isReady()` holds or the monotonic deadline passes.
    /// Returns whether `isReady()` held.
    func park(deadlineNanoseconds: UInt64?, until isReady: () -> Bool) -> Bool {
        // Announce first, then check: pairs with the fence in `wakeAll()`.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .relaxed) }
        return lock.withLock {
            while !isReady() {
                if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return false }
            }
            return true
        }
    }

    /// Wakes every sleeper. Call after the store that makes their condition true.
    func wakeAll() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleepers.load(ordering: .relaxed) > 0 else { return }
        lock.withLock { lock.broadcast() }
    }
}
