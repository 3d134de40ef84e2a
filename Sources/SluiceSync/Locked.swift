/// A value behind a pthread mutex (a `ConditionLock`), for state that threads share off the
/// per-event path.
///
/// Why not `Mutex` from the Synchronization module: on Linux a contended `Mutex` is handed from
/// one thread to the next inside the kernel (a priority-inheritance futex), where
/// ThreadSanitizer cannot see it, so every meeting of two threads on one is reported as a data
/// race on the state it guards. A pthread mutex is what ThreadSanitizer understands, and costs
/// the same when uncontended.
///
/// `@unchecked Sendable`: `value` is only touched inside `withLock`, under the lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}
