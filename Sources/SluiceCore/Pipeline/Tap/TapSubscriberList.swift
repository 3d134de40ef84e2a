#if canImport(Glibc)
import Glibc
#endif

/// The tap clients subscribed now, behind a reader-writer lock: the threads offering events read
/// it at once, each with a try that never waits (`pthread_rwlock_tryrdlock`, which only fails
/// while a client is being added or removed); adding and removing take the write side.
final class TapSubscriberList: @unchecked Sendable {
    // @unchecked: `subscriptions` is read under the read side and written under the write side.
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    private var subscriptions: [TapSubscription] = []

    init() {
        rwlock = .allocate(capacity: 1)
        pthread_rwlock_init(rwlock, nil)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    /// The subscriptions, or nil when a writer holds the list right now.
    func readIfAvailable() -> [TapSubscription]? {
        guard pthread_rwlock_tryrdlock(rwlock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(rwlock) }
        return subscriptions
    }

    func change(_ body: (inout [TapSubscription]) -> Void) {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        body(&subscriptions)
    }
}

/// A value behind an exclusive lock that is only ever *tried* by the event path (`withValueIfFree`
/// never waits) and may be waited for elsewhere (`withValue`). Built on a read-write lock's
/// write side, which ThreadSanitizer understands: with the standard `Mutex` (futex-based on
/// Linux, Swift 6.3) it reported races inside `withLockIfAvailable` that CI's sanitizer pass
/// cannot tell from real ones.
final class TryLocked<Value>: @unchecked Sendable {
    // @unchecked: `value` is touched only while `rwlock` is held for writing.
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        rwlock = .allocate(capacity: 1)
        pthread_rwlock_init(rwlock, nil)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    /// Runs `body` on the value when no other thread holds it; nil (without waiting) otherwise.
    func withValueIfFree<Result>(_ body: (inout Value) -> Result) -> Result? {
        guard pthread_rwlock_trywrlock(rwlock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(rwlock) }
        return body(&value)
    }

    /// Runs `body` on the value, waiting for it if another thread holds it (never on the event
    /// path: the tap's drain, on the admin listener's thread).
    func withValue<Result>(_ body: (inout Value) -> Result) -> Result {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return body(&value)
    }
}
