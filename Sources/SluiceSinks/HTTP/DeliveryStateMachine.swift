/// Decides, attempt by attempt, what happens to one batch of items until every item is
/// accepted, dead-lettered, or abandoned at shutdown. No I/O: the caller sends, sleeps and
/// reports; this says what to do next.
///
/// - accepted items are done, and so are items the server already has (409, kept apart);
/// - items a per-item response asks to retry are sent again alone, after a backoff;
/// - whole-request 429/5xx/timeouts/connection errors send the same items again after a backoff;
/// - 413 splits the items in halves, sent one after the other (a single item too large is
///   rejected);
/// - 401/403 retry slowly (credentials may be fixed out of band);
/// - rejected items (400, 404, ...) are dead-lettered with the status and reason the server gave;
/// - a partial rejection that names no item counts the number the server gave as rejected.
///
/// Backoff grows exponentially from `initialBackoff` to `maximumBackoff`; the caller adds jitter.
public struct DeliveryStateMachine: Sendable {
    public enum Action: Equatable, Sendable {
        /// Send these items (indices into the batch) as one request.
        case send([Int])
        /// Wait this long, then ask again with `next()`.
        case wait(nanoseconds: UInt64, reason: String)
        /// Every item is settled.
        case finished
    }

    public struct Settings: Sendable {
        public var initialBackoffNanoseconds: UInt64 = 200_000_000
        public var maximumBackoffNanoseconds: UInt64 = 30_000_000_000
        public var unauthorizedBackoffNanoseconds: UInt64 = 30_000_000_000
        public init() {}
    }

    public private(set) var accepted: [Int] = []
    public private(set) var alreadyPresent: [Int] = []
    public private(set) var deadLetters: [(item: Int, status: Int, reason: String)] = []
    /// Items counted as rejected by a server that did not say which (`partiallyRejected`).
    public private(set) var rejectedUnnamed: [Int] = []
    /// Why, as the server said.
    public private(set) var partialRejectionReason = ""
    /// Whether the wait `next()` gives is the server's `Retry-After` (to be waited in full).
    public private(set) var waitIsTheServers = false
    public private(set) var attempts = 0
    /// Items waiting for a later attempt, each group one request.
    private var queue: [[Int]]
    private var inFlight: [Int] = []
    private var backoff: UInt64
    private var pendingWait: (nanoseconds: UInt64, reason: String)?
    private let settings: Settings

    public init(itemCount: Int, settings: Settings = Settings()) {
        self.settings = settings
        queue = itemCount > 0 ? [Array(0..<itemCount)] : []
        backoff = settings.initialBackoffNanoseconds
    }

    /// Items not yet settled (for counting them as dropped when giving up).
    public var unsettled: [Int] { inFlight + queue.flatMap { $0 } }

    /// The next thing to do.
    public mutating func next() -> Action {
        if let wait = pendingWait {
            pendingWait = nil
            return .wait(nanoseconds: wait.nanoseconds, reason: wait.reason)
        }
        guard !queue.isEmpty else { return .finished }
        inFlight = queue.removeFirst()
        attempts += 1
        return .send(inFlight)
    }

    /// Takes the outcome of the last `send`. `retryAfterNanoseconds` is the server's
    /// `Retry-After`: a retry waits that long instead of the backoff (up to five minutes).
    public mutating func handle(_ outcome: DeliveryOutcome, retryAfterNanoseconds: UInt64? = nil) {
        let sent = inFlight
        inFlight = []
        waitIsTheServers = false
        switch outcome {
        case .accepted:
            accepted += sent
            backoff = settings.initialBackoffNanoseconds
        case .perItem(let results):
            var again: [Int] = []
            var reason = ""
            for (position, item) in sent.enumerated() {
                switch position < results.count ? results[position] : .retry("no result for this item") {
                case .accepted: accepted.append(item)
                case .alreadyPresent: alreadyPresent.append(item)
                case .retry(let why):
                    again.append(item)
                    reason = why
                case .rejected(let status, let why): deadLetters.append((item, status, why))
                }
            }
            if !again.isEmpty { retryLater(again, reason: "\(again.count) items asked to retry: \(reason)") }
        case .retryable(let reason):
            retryLater(sent, reason: reason)
            if let after = retryAfterNanoseconds {
                pendingWait?.nanoseconds = min(after, Self.longestRetryAfterNanoseconds)
                waitIsTheServers = true
            }
        case .partiallyRejected(let count, let reason):
            let rejected = min(count, sent.count)
            accepted += sent.dropLast(rejected)
            rejectedUnnamed += sent.suffix(rejected)
            partialRejectionReason = reason
        case .tooLarge:
            if sent.count == 1 {
                deadLetters.append((sent[0], 413, "the event alone is larger than the server accepts"))
            } else {
                let half = sent.count / 2
                queue.insert(contentsOf: [Array(sent[..<half]), Array(sent[half...])], at: 0)
            }
        case .unauthorized(let reason):
            queue.insert(sent, at: 0)
            pendingWait = (settings.unauthorizedBackoffNanoseconds, reason)
        case .rejected(let status, let reason):
            for item in sent { deadLetters.append((item, status, reason)) }
        }
    }

    /// The longest `Retry-After` honoured as it is.
    static let longestRetryAfterNanoseconds: UInt64 = 300_000_000_000

    private mutating func retryLater(_ items: [Int], reason: String) {
        queue.insert(items, at: 0)
        pendingWait = (backoff, reason)
        backoff = min(backoff * 2, settings.maximumBackoffNanoseconds)
    }
}
