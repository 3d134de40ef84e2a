#if canImport(Glibc)
import Glibc
#endif

/// A value behind a read-write lock that the event path only ever *tries* (`readIfFree` and
/// `withValueIfFree` never wait; readers never exclude each other) and that is waited for
/// elsewhere (`withValue`). Built on pthread's lock, which ThreadSanitizer understands: with
/// the standard `Mutex` (futex-based on Linux, Swift 6.3) it reported races inside
/// `withLockIfAvailable` that CI's sanitizer pass cannot tell from real ones.
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

    /// The value when no writer holds it; nil (without waiting) otherwise.
    func readIfFree() -> Value? {
        guard pthread_rwlock_tryrdlock(rwlock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(rwlock) }
        return value
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
