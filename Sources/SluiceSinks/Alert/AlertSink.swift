import Logging
public import SluiceCore
public import SluiceSync

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
    /// Where this sink leaves its engine at its end, for the version a reload puts in its place.
    private let handOver: SinkStateHandOver<AlertEngine>

    /// - Parameter handOver: kept per sink name across reloads (see `begin(replacing:)`).
    public init(
        name: String, rules: [AlertRule], dispatchers: [String: NotificationDispatcher],
        handOver: SinkStateHandOver<AlertEngine> = SinkStateHandOver(),
        clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nowNanoseconds
    ) {
        sinkName = name
        engine = AlertEngine(rules: rules)
        self.dispatchers = dispatchers
        self.handOver = handOver
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
        handOver.leave(engine)
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

    public func metricSamples() -> [MetricSample] {
        var samples: [MetricSample] = []
        for (rule, counters) in zip(engine.rules, engine.counters) {
            let labels = [("sink", sinkName), ("rule", rule.name)]
            samples.append(MetricSample("sluice_alert_matches_total", .counter, help: "Events matching an alert rule.", labels: labels, value: Double(counters.matches.current)))
            samples.append(MetricSample("sluice_alert_notifications_total", .counter, help: "Notifications an alert rule raised (firing and resolved).", labels: labels, value: Double(counters.notifications.current)))
            samples.append(MetricSample("sluice_alert_suppressed_total", .counter, help: "Matches swallowed by a cooldown.", labels: labels, value: Double(counters.suppressed.current)))
            samples.append(MetricSample("sluice_alert_group_overflow_total", .counter, help: "Matches for groups beyond max_groups.", labels: labels, value: Double(counters.groupOverflow.current)))
        }
        for (name, dispatcher) in dispatchers.sorted(by: { $0.key < $1.key }) {
            let labels = [("sink", sinkName), ("notifier", name)]
            let counters = dispatcher.counters
            samples.append(MetricSample("sluice_notifier_sent_total", .counter, help: "Notifications delivered.", labels: labels, value: Double(counters.sent.current)))
            samples.append(MetricSample("sluice_notifier_failed_total", .counter, help: "Notifications given up after their retries.", labels: labels, value: Double(counters.failed.current)))
            samples.append(MetricSample("sluice_notifier_retries_total", .counter, help: "Notification attempts retried.", labels: labels, value: Double(counters.retried.current)))
            for (reason, value) in [("rate_limited", counters.rateLimited.current), ("queue_full", counters.queueFull.current)] {
                samples.append(MetricSample("sluice_notifier_dropped_total", .counter, help: "Notifications dropped before sending.", labels: labels + [("reason", reason)], value: Double(value)))
            }
        }
        return samples
    }

    /// A reload that changes this sink keeps the windows, cooldowns and counts of every rule it
    /// did not change: the new version begins once the old one has left its engine.
    public var startsAfterItsPredecessorFinishes: Bool { true }

    public func begin(replacing: Bool) {
        // Taken whatever `replacing` says, so a sink removed and added again later starts afresh.
        guard let previous = handOver.take(), replacing else { return }
        let kept = engine.adopt(previous)
        let fresh = engine.rules.map(\.name).filter { !kept.contains($0) }
        logger.info(kept.isEmpty ? "alert rules start afresh after the reload" : "alert state kept across the reload", metadata: [
            "sink": "\(sinkName)", "rules_kept": .array(kept.map { .string($0) }), "rules_fresh": .array(fresh.map { .string($0) }),
        ])
    }

    private func dispatch(_ notifications: [AlertNotification]) {
        for notification in notifications {
            for name in notification.notify {
                dispatchers[name]?.enqueue(notification)
            }
        }
    }
}
