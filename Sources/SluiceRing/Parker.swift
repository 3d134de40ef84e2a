import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where threads sleep when there is nothing to do, so an idle Sluice burns no CPU.
///
/// A waker only makes a system call when someone is asleep: `wakeAll()` is one fence and one
/// relaxed load on the hot path.
///
/// `@unchecked Sendable`: the pthread mutex and condition live at fixed heap addresses for the
/// whole life of the object and are only touched through pthread calls, which synchronise.
final class Parker: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let sleepers = Atomic<Int>(0)

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Sleeps until `isReady()` holds or the monotonic deadline passes.
    /// Returns whether `isReady()` held.
    func park(deadlineNanoseconds: UInt64?, until isReady: () -> Bool) -> Bool {
        // Announce first, then check: pairs with the fence in `wakeAll()`.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .relaxed) }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !isReady() {
            guard let deadline = deadlineNanoseconds else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            if MonotonicClock.nowNanoseconds() >= deadline { return false }
            var spec = timespec(
                tv_sec: Int(deadline / 1_000_000_000),
                tv_nsec: Int(deadline % 1_000_000_000)
            )
            pthread_cond_timedwait(condition, mutex, &spec)
        }
        return true
    }

    /// Wakes every sleeper. Call after the store that makes their condition true.
    func wakeAll() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleepers.load(ordering: .relaxed) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
