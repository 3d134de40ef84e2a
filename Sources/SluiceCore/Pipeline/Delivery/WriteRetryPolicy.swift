/// What a sink runner does after a sink's `write` throws a transient error, as a value: under
/// `block` the same batch is written again after a backoff (100 ms doubling to the maximum),
/// holding the sources back; under the drop policies it is dropped and counted. It also says
/// when a failure is worth a log line (the first, then every tenth) and whether a success ends
/// a failing spell. No I/O, no clock: tested on its own.
struct WriteRetryPolicy {
    enum Action: Equatable {
        /// Write the batch again after this long; `log` says whether to say so.
        case retry(afterNanoseconds: UInt64, attempt: Int, log: Bool)
        /// Drop the batch (counted as `sink_error`); `log` says whether to say so.
        case drop(log: Bool)
    }

    static let initialBackoffNanoseconds: UInt64 = 100_000_000

    let whenFull: WhenFull
    let maxBackoffNanoseconds: UInt64
    /// Failed writes of the current batch.
    private(set) var failures = 0
    private var backoffNanoseconds = WriteRetryPolicy.initialBackoffNanoseconds

    init(whenFull: WhenFull, maxBackoffNanoseconds: UInt64) {
        self.whenFull = whenFull
        self.maxBackoffNanoseconds = maxBackoffNanoseconds
    }

    /// A write failed with an error that may pass.
    mutating func failed() -> Action {
        failures += 1
        guard whenFull == .block else { return .drop(log: failures == 1) }
        let wait = backoffNanoseconds
        backoffNanoseconds = min(backoffNanoseconds * 2, maxBackoffNanoseconds)
        return .retry(afterNanoseconds: wait, attempt: failures, log: failures == 1 || failures.isMultiple(of: 10))
    }

    /// A write succeeded: true when it ends a spell of failures (the sink recovered).
    var recovered: Bool { failures > 0 }
}
