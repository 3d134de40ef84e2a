import Synchronization

/// Where threads sleep when there is nothing to do, so an idle Sluice burns no CPU.
///
/// A waker only makes a system call when someone is asleep: `wakeAll()` is one fence and one
/// relaxed load on the hot path.
///
/// Why no wake-up is lost. The sleeper writes `sleepers` and then reads the condition; the waker
/// writes the condition and then reads `sleepers`. Each side puts a sequentially consistent
/// fence between its write and its read, and those two fences are ordered one way or the other
/// in the single total order of sequentially consistent operations:
/// - the sleeper's fence first: the waker's read of `sleepers` comes after it and sees the
///   sleeper counted, so the waker takes the lock and broadcasts;
/// - the waker's fence first: the sleeper's read of the condition comes after it and sees the
///   waker's write, so the sleeper does not wait.
/// (C++20 [atomics.fences]/4, which Swift's atomics follow.) An ordering on the sleeper's
/// increment alone is not enough: a sequentially consistent read-modify-write does not order a
/// later acquire load of another variable against the waker's fence; x86 happens to, other
/// processors need not. Once the waker sees a sleeper, the lock does the rest: the sleeper
/// checks the condition and waits under the lock, the waker broadcasts under it.
final class Parker: Sendable {
    private let lock = ConditionLock()
    private let sleepers = Atomic<Int>(0)

    /// Sleeps until `isReady()` holds or the monotonic deadline passes.
    /// Returns whether `isReady()` held.
    func park(deadlineNanoseconds: UInt64?, until isReady: () -> Bool) -> Bool {
        sleepers.add(1, ordering: .relaxed)
        defer { sleepers.subtract(1, ordering: .relaxed) }
        // Pairs with the fence in `wakeAll()`: see the type's comment.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return lock.withLock {
            while !isReady() {
                if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return false }
            }
            return true
        }
    }

    /// Wakes every sleeper. Call after the store that makes their condition true.
    func wakeAll() {
        // Pairs with the fence in `park`: see the type's comment.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleepers.load(ordering: .relaxed) > 0 else { return }
        lock.withLock { lock.broadcast() }
    }
}
