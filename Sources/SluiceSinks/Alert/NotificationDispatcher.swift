import Logging
public import SluiceCore
import SluiceSync
import Synchronization

/// Delivers one notifier's notifications off the alert sink's thread: a bounded queue, a
/// timeout per attempt, retries with exponential backoff, and a rate limit. Nothing here ever
/// slows event processing; what cannot be delivered is logged and counted.
public final class NotificationDispatcher: Sendable {
    public struct Settings: Sendable {
        public var retries: Int
        public var initialBackoffNanoseconds: UInt64
        /// Notifications sent per minute at most (0: no limit); the rest are dropped and counted.
        public var ratePerMinute: Int
        public var queueCapacity: Int

        public init(retries: Int = 3, initialBackoffNanoseconds: UInt64 = 500_000_000, ratePerMinute: Int = 0, queueCapacity: Int = 1000) {
            self.retries = retries
            self.initialBackoffNanoseconds = initialBackoffNanoseconds
            self.ratePerMinute = ratePerMinute
            self.queueCapacity = queueCapacity
        }
    }

    public final class Counters: Sendable {
        public let sent = Counter()
        public let failed = Counter()
        public let retried = Counter()
        public let rateLimited = Counter()
        public let queueFull = Counter()
    }

    public let notifier: any AlertNotifier
    public let settings: Settings
    public let counters = Counters()
    private let queue: NotificationQueue
    private let thread: NamedThread
    private let logger = Logger(label: "sluice.alert")

    public init(notifier: any AlertNotifier, settings: Settings = Settings()) {
        self.notifier = notifier
        self.settings = settings
        let queue = NotificationQueue(capacity: settings.queueCapacity)
        self.queue = queue
        let counters = counters
        let logger = logger
        thread = NamedThread(name: "notify-\(notifier.name)") {
            var bucket = RateBucket(perMinute: settings.ratePerMinute)
            while let notification = queue.take() {
                guard bucket.take(nowNanoseconds: MonotonicClock.nowNanoseconds()) else {
                    counters.rateLimited.add(1)
                    if counters.rateLimited.current == 1 || counters.rateLimited.current.isMultiple(of: 100) {
                        logger.warning("notifier rate limit reached; dropping notifications", metadata: [
                            "notifier": "\(notifier.name)", "per_minute": "\(settings.ratePerMinute)", "dropped": "\(counters.rateLimited.current)",
                        ])
                    }
                    continue
                }
                Self.deliver(notification, notifier: notifier, settings: settings, counters: counters, logger: logger, queue: queue)
            }
        }
    }

    /// Queues a notification; never blocks. A full queue drops it (counted).
    public func enqueue(_ notification: AlertNotification) {
        if !queue.offer(notification) { counters.queueFull.add(1) }
    }

    /// Stops taking notifications and waits (until the monotonic deadline) for the queue to
    /// drain; retries still waiting after it are abandoned.
    public func finish(deadlineNanoseconds: UInt64) {
        queue.close(deadlineNanoseconds: deadlineNanoseconds)
        if queue.waitUntilDrained(deadlineNanoseconds: deadlineNanoseconds) { thread.join() }
    }

    private static func deliver(
        _ notification: AlertNotification, notifier: any AlertNotifier, settings: Settings, counters: Counters, logger: Logger, queue: NotificationQueue
    ) {
        var backoff = settings.initialBackoffNanoseconds
        for attempt in 0...settings.retries {
            do {
                try notifier.send(notification)
                counters.sent.add(1)
                return
            } catch {
                if attempt == settings.retries || queue.isPastDeadline {
                    counters.failed.add(1)
                    logger.error("alert notification failed; giving up", metadata: [
                        "notifier": "\(notifier.name)", "rule": "\(notification.rule)", "attempts": "\(attempt + 1)", "error": "\(TransportErrorDescription.describe(error))",
                    ])
                    return
                }
                counters.retried.add(1)
                logger.warning("alert notification failed; retrying", metadata: [
                    "notifier": "\(notifier.name)", "rule": "\(notification.rule)", "attempt": "\(attempt + 1)",
                    "retry_in_ms": "\(backoff / 1_000_000)", "error": "\(TransportErrorDescription.describe(error))",
                ])
                // Jitter keeps many groups from retrying in step.
                queue.pause(nanoseconds: backoff / 2 + UInt64.random(in: 0...(backoff / 2)))
                backoff = min(backoff * 2, 30_000_000_000)
            }
        }
    }
}

/// The dispatcher's bounded queue; `take` waits for work, the producer never waits.
final class NotificationQueue: @unchecked Sendable {
    // @unchecked: every field is only touched under `lock`.
    private let lock = ConditionLock()
    private var items: [AlertNotification] = []
    private var closed = false
    private var busy = false
    private var deadline: UInt64?
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func offer(_ notification: AlertNotification) -> Bool {
        lock.withLock {
            guard !closed, items.count < capacity else { return false }
            items.append(notification)
            lock.broadcast()
            return true
        }
    }

    func take() -> AlertNotification? {
        lock.withLock {
            busy = false
            lock.broadcast()
            while items.isEmpty {
                if closed { return nil }
                _ = lock.wait(deadlineNanoseconds: nil)
            }
            busy = true
            return items.removeFirst()
        }
    }

    func close(deadlineNanoseconds: UInt64) {
        lock.withLock {
            closed = true
            deadline = deadlineNanoseconds
            lock.broadcast()
        }
    }

    var isPastDeadline: Bool {
        lock.withLock { deadline.map { MonotonicClock.nowNanoseconds() >= $0 } ?? false }
    }

    /// Waits until the queue is empty and nothing is being delivered; false at the deadline.
    func waitUntilDrained(deadlineNanoseconds: UInt64) -> Bool {
        lock.withLock {
            while !items.isEmpty || busy {
                if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return false }
            }
            return true
        }
    }

    /// Sleeps between retries, waking early when the queue is closed past its deadline.
    func pause(nanoseconds: UInt64) {
        let until = MonotonicClock.nowNanoseconds() + nanoseconds
        lock.withLock {
            while MonotonicClock.nowNanoseconds() < until {
                if let deadline, MonotonicClock.nowNanoseconds() >= deadline { return }
                _ = lock.wait(deadlineNanoseconds: min(until, deadline ?? until))
            }
        }
    }
}

/// A token bucket refilled continuously: `perMinute` tokens a minute, at most `perMinute` saved.
struct RateBucket {
    let perMinute: Int
    private var tokens: Double
    private var updated: UInt64 = 0

    init(perMinute: Int) {
        self.perMinute = perMinute
        tokens = Double(perMinute)
    }

    mutating func take(nowNanoseconds: UInt64) -> Bool {
        guard perMinute > 0 else { return true }
        if updated > 0 {
            tokens = min(Double(perMinute), tokens + Double(nowNanoseconds - updated) / 60e9 * Double(perMinute))
        }
        updated = nowNanoseconds
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
