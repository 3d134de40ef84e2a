#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a thread waits for the ring: spin briefly, then yield the core, then park.
///
/// Spinning wins when the other side is about to act and a core is free; on two shared cores it
/// collapses quickly, so the spin is short and parking comes early.
public struct WaitStrategy: Sendable {
    public var spinChecks: Int
    public var yieldChecks: Int

    public init(spinChecks: Int = 100, yieldChecks: Int = 10) {
        self.spinChecks = spinChecks
        self.yieldChecks = yieldChecks
    }

    /// Waits until `isReady()` or the deadline. Returns whether `isReady()` held.
    @usableFromInline
    func wait(on parker: Parker, deadlineNanoseconds: UInt64?, until isReady: () -> Bool) -> Bool {
        for _ in 0..<spinChecks where isReady() { return true }
        for _ in 0..<yieldChecks {
            if isReady() { return true }
            sched_yield()
        }
        return parker.park(deadlineNanoseconds: deadlineNanoseconds, until: isReady)
    }
}
