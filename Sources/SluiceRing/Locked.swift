#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a pthread mutex, for state that threads share off the per-event path.
///
/// Why not `Mutex` from the Synchronization module: on Linux a contended `Mutex` is handed from
/// one thread to the next inside the kernel (a priority-inheritance futex), where
/// ThreadSanitizer cannot see it, so every meeting of two threads on one is reported as a data
/// race on the state it guards. A pthread mutex is what ThreadSanitizer understands, and costs
/// the same when uncontended.
///
/// `@unchecked Sendable`: `value` is only touched inside `withLock`, under the mutex, which
/// lives at a fixed heap address for the object's life.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
