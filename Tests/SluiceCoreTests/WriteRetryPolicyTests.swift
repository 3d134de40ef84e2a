import SluiceTesting
import Testing

@testable import SluiceCore

/// The runner's retry decisions, without a sink, a clock or a thread.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct WriteRetryPolicyTests {
    @Test func underBlockAFailureIsRetriedWithADoublingBackoffUpToTheMaximum() {
        var policy = WriteRetryPolicy(whenFull: .block, maxBackoffNanoseconds: 500_000_000)
        var waits: [UInt64] = []
        var logged: [Int] = []
        for _ in 0..<12 {
            guard case .retry(let wait, let attempt, let log) = policy.failed() else {
                Issue.record("under block a failure is retried")
                return
            }
            waits.append(wait)
            if log { logged.append(attempt) }
        }
        #expect(waits.prefix(4) == [100_000_000, 200_000_000, 400_000_000, 500_000_000])
        #expect(waits.dropFirst(3).allSatisfy { $0 == 500_000_000 })
        #expect(logged == [1, 10], "the first failure and every tenth are logged")
        #expect(policy.recovered, "a success after failures is a recovery")
    }

    @Test(arguments: [WhenFull.dropNewest, .dropOldest])
    func underADropPolicyAFailureDropsTheBatch(_ whenFull: WhenFull) {
        var policy = WriteRetryPolicy(whenFull: whenFull, maxBackoffNanoseconds: 5_000_000_000)
        #expect(policy.failed() == .drop(log: true))
        #expect(policy.failed() == .drop(log: false))
    }

    @Test func aFirstSuccessIsNoRecovery() {
        let policy = WriteRetryPolicy(whenFull: .block, maxBackoffNanoseconds: 1)
        #expect(!policy.recovered)
    }
}
