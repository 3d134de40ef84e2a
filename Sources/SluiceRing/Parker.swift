import SluiceSync
import CLinux
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where threads sleep when there is nothing to do, so an idle Sluice burns no CPU: a futex.
///
/// A waker takes no lock and makes a system call only when someone is asleep: `wakeAll()` is one
/// fence and one relaxed load on the hot path, and with sleepers an increment of `generation`
/// and a `FUTEX_WAKE`.
///
/// Why no wake-up is lost. The sleeper writes `sleepers` and then reads the condition; the waker
/// writes the condition and then reads `sleepers`. Each side puts a sequentially consistent
/// fence between its write and its read, and those two fences are ordered one way or the other
/// in the single total order of sequentially consistent operations:
/// - the sleeper's fence first: the waker's read of `sleepers` comes after it and sees the
///   sleeper counted, so the waker bumps `generation` and wakes the futex;
/// - the waker's fence first: the sleeper's read of the condition comes after it and sees the
///   waker's write, so the sleeper does not wait.
/// (C++20 [atomics.fences]/4, which Swift's atomics follow.) In the first case the sleeper read
/// `generation` before the condition: if it read the bumped value (acquire, pairing with the
/// bump's release) it also sees the condition; if it read the old one, the kernel's `FUTEX_WAIT`
/// finds the word changed and returns at once, or the sleeper is already queued and the wake
/// reaches it.
///
/// `@unchecked Sendable`: `generation` points to an atomic allocated for the object's life.
@usableFromInline
final class Parker: @unchecked Sendable {
    private let sleepers = Atomic<Int>(0)
    /// The futex word: its own allocation, so its address is fixed for the kernel.
    private let generation: UnsafeMutablePointer<Atomic<UInt32>>

    init() {
        generation = .allocate(capacity: 1)
        generation.initialize(to: Atomic(0))
    }

    deinit {
        generation.deinitialize(count: 1)
        generation.deallocate()
    }

    /// Sleeps until `isReady()` holds or the monotonic deadline passes.
    /// Returns whether `isReady()` held.
    func park(deadlineNanoseconds: UInt64?, until isReady: () -> Bool) -> Bool {
        sleepers.add(1, ordering: .relaxed)
        defer { sleepers.subtract(1, ordering: .relaxed) }
        // Pairs with the fence in `wakeAll()`: see the type's comment.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        var deadline = deadlineNanoseconds.map {
            timespec(tv_sec: Int($0 / 1_000_000_000), tv_nsec: Int($0 % 1_000_000_000))
        }
        while true {
            let seen = generation.pointee.load(ordering: .acquiring)
            if isReady() { return true }
            if let deadlineNanoseconds, MonotonicClock.nowNanoseconds() >= deadlineNanoseconds { return false }
            let word = UnsafeMutableRawPointer(generation).assumingMemoryBound(to: UInt32.self)
            if deadline == nil {
                _ = sluice_futex_wait(word, seen, nil)
            } else {
                _ = sluice_futex_wait(word, seen, &deadline!)
            }
        }
    }

    /// Wakes every sleeper. Call after the store that makes their condition true.
    @usableFromInline
    func wakeAll() {
        // Pairs with the fence in `park`: see the type's comment.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleepers.load(ordering: .relaxed) > 0 else { return }
        generation.pointee.add(1, ordering: .releasing)
        sluice_futex_wake_all(UnsafeMutableRawPointer(generation).assumingMemoryBound(to: UInt32.self))
    }
}
