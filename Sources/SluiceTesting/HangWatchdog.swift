import Foundation
import SluiceSync
public import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ends the test run, naming the test, when a test is still running well past its time limit.
///
/// Swift Testing's `.timeLimit` records an issue when a test runs out of time, but then waits for
/// the test to return: a test blocked in a deadlock would hold the whole run until CI's own limit
/// ends it without a name. With this trait beside `.timeLimit` on a suite, every test of the
/// suite gets a watchdog thread; if the test is still running `graceSeconds` after its time limit
/// (so the limit's own issue is printed first), the watchdog prints the test's name and where it
/// is declared, and ends the process with status 124, as `timeout(1)` does.
public struct HangWatchdog: SuiteTrait, TestTrait, TestScoping {
    /// How long past its time limit a test may still run before the run is ended.
    public var graceSeconds: Double = 30
    /// For a test whose suite sets no `.timeLimit`.
    public var defaultLimitSeconds: Double = 300

    public init(graceSeconds: Double = 30) {
        self.graceSeconds = graceSeconds
    }

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @concurrent @Sendable () async throws -> Void
    ) async throws {
        guard !test.isSuite, testCase != nil else {
            try await function()
            return
        }
        let limit = test.timeLimit.map { Double($0.components.seconds) } ?? defaultLimitSeconds
        let watch = Watch(
            testName: "\(test.name) (\(test.sourceLocation.fileID):\(test.sourceLocation.line))",
            limitSeconds: limit, deadlineNanoseconds: MonotonicClock.nowNanoseconds() + UInt64((limit + graceSeconds) * 1e9)
        )
        watch.start()
        defer { watch.stop() }
        try await function()
    }

    /// One test's watchdog thread.
    private final class Watch: @unchecked Sendable {
        // @unchecked: `finished` is only touched under `lock`; the rest is fixed at init.
        private let lock = ConditionLock()
        private var finished = false
        private let testName: String
        private let limitSeconds: Double
        private let deadlineNanoseconds: UInt64
        private var thread: Thread?

        init(testName: String, limitSeconds: Double, deadlineNanoseconds: UInt64) {
            self.testName = testName
            self.limitSeconds = limitSeconds
            self.deadlineNanoseconds = deadlineNanoseconds
        }

        func start() {
            let thread = Thread { [self] in
                let hung = lock.withLock {
                    while !finished {
                        if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return true }
                    }
                    return false
                }
                if hung { endTheRun() }
            }
            thread.start()
            self.thread = thread
        }

        func stop() {
            lock.withLock {
                finished = true
                lock.broadcast()
            }
        }

        private func endTheRun() {
            let message = "\n✘ HANG: test \(testName) is still running past its time limit of \(Int(limitSeconds)) s "
                + "and the watchdog's grace; ending the test run (status 124)\n"
            _ = message.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            _exit(124)
        }
    }
}

extension Trait where Self == HangWatchdog {
    /// Ends the run, naming the test, when a test hangs past its `.timeLimit` (see `HangWatchdog`).
    public static var watchdog: Self { HangWatchdog() }
}
