import Logging
public import SluiceCore
public import SluiceRing

/// Matches events against alert rules in-line and hands notifications to notifiers, which send
/// them from their own queues: alerting never slows the pipeline down, and a failing webhook
/// never loses events (only notifications, counted).
public final class AlertSink: Sink {
    public let engine: AlertEngine
    private let dispatchers: [String: NotificationDispatcher]
    private let sinkName: String
    private let logger = Logger(label: "sluice.alert")
    /// Monotonic nanoseconds (tests and `sluice test` pass their own).
    private let clock: @Sendable () -> UInt64

    public init(
        name: String, rules: [AlertRule], dispatchers: [String: NotificationDispatcher],
        clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nowNanoseconds
    ) {
        sinkName = name
        engine = AlertEngine(rules: rules)
        self.dispatchers = dispatchers
        self.clock = clock
    }

    /// Resolve timers and group clean-up run once a second.
    public var flushIntervalNanoseconds: UInt64? { 1_000_000_000 }

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        dispatch(engine.process(batch, now: clock()))
    }

    public func flush() throws {
        dispatch(engine.tick(now: clock()))
    }

    public func finish() throws {
        try flush()
        let deadline = MonotonicClock.nowNanoseconds() + 10_000_000_000
        for dispatcher in dispatchers.values { dispatcher.finish(deadlineNanoseconds: deadline) }
        for (index, rule) in engine.rules.enumerated() {
            let statistics = engine.statistics[index]
            logger.info("alert rule summary", metadata: [
                "sink": "\(sinkName)", "rule": "\(rule.name)", "matches": "\(statistics.matches)",
                "notifications": "\(statistics.notifications)", "suppressed": "\(statistics.suppressed)",
                "group_overflow": "\(statistics.groupOverflow)",
            ])
        }
    }

    private func dispatch(_ notifications: [AlertNotification]) {
        for notification in notifications {
            for name in notification.notify {
                dispatchers[name]?.enqueue(notification)
            }
        }
    }
}
