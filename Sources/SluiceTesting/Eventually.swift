import SluiceSync
import Synchronization

/// Waiting on a condition with a generous deadline, instead of sleeping a fixed time.
public enum Eventually {
    /// Polls `condition` every few milliseconds until it holds or `seconds` pass.
    /// Returns whether it held.
    public static func wait(seconds: Double = 30, until condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(seconds * 1e9)
        while !condition() {
            if MonotonicClock.nowNanoseconds() >= deadline { return false }
            ChildProcess.pause(milliseconds: 5)
        }
        return true
    }
}

/// A flag a test's thread raises once, for the test to read.
public final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { value.load(ordering: .acquiring) }

    public func set() {
        value.store(true, ordering: .releasing)
    }
}
