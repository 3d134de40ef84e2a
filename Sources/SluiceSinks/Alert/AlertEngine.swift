public import SluiceCore

/// Evaluates alert rules over events and decides when to notify. No I/O and no clocks of its
/// own: time comes in with each call, so `sluice test` and the tests drive it exactly.
///
/// Windows slide over arrival time: per rule and group, the arrival times of the last
/// `threshold` matches are kept, and the rule fires when the oldest of them is within `window`
/// of the newest. Firing empties the window and starts the cooldown.
public final class AlertEngine {
    public let rules: [AlertRule]
    public private(set) var statistics: [RuleStatistics]
    private let matcher: EventMatcher
    private var groups: [[String: GroupState]]

    public struct RuleStatistics: Sendable, Equatable {
        public var matches = 0
        public var notifications = 0
        public var suppressed = 0
        /// Matches for groups beyond `max_groups`, not tracked.
        public var groupOverflow = 0
    }

    struct GroupState {
        var group: [(field: String, value: String)]
        var arrivals: [UInt64] = []
        var timestamps: [Int64] = []
        var samples: [String] = []
        var cooldownUntil: UInt64 = 0
        var suppressed = 0
        var firing = false
        var lastMatch: UInt64 = 0
    }

    public init(rules: [AlertRule]) {
        self.rules = rules
        matcher = EventMatcher(rules.map(\.condition))
        statistics = Array(repeating: RuleStatistics(), count: rules.count)
        groups = Array(repeating: [:], count: rules.count)
    }

    /// Runs every rule over every event of the batch that arrived at `now` (monotonic ns).
    public func process(_ batch: EventBatch, now: UInt64) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        for position in 0..<batch.count {
            let record = batch[position]
            matcher.load(record)
            for index in rules.indices where matcher.matches(index) {
                if let notification = match(rule: index, record: record, now: now) {
                    notifications.append(notification)
                }
            }
        }
        return notifications
    }

    /// Sends `resolved` notices for quiet groups and forgets groups that no longer matter.
    public func tick(now: UInt64) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        for (index, rule) in rules.enumerated() {
            let idleLimit = max(rule.windowNanoseconds, rule.cooldownNanoseconds, rule.resolveAfterNanoseconds ?? 0)
            for (key, state) in groups[index] {
                let quiet = now &- state.lastMatch
                if state.firing, let resolveAfter = rule.resolveAfterNanoseconds, quiet >= resolveAfter {
                    notifications.append(AlertNotification(
                        rule: rule.name, status: .resolved, group: state.group, count: 0, suppressed: state.suppressed,
                        windowNanoseconds: rule.windowNanoseconds, samples: [], notify: rule.notify
                    ))
                    statistics[index].notifications += 1
                    groups[index][key] = nil
                } else if !state.firing, quiet > idleLimit, now >= state.cooldownUntil {
                    groups[index][key] = nil
                }
            }
        }
        return notifications
    }

    /// Groups currently tracked by rule `index`.
    public func trackedGroups(ofRule index: Int) -> Int { groups[index].count }

    private func match(rule index: Int, record: EventRecord, now: UInt64) -> AlertNotification? {
        let rule = rules[index]
        statistics[index].matches += 1
        let values = rule.groupBy.map { path in
            (field: path.description, value: matcher.rawValue(of: path).map(Self.display) ?? "")
        }
        let key = values.map(\.value).joined(separator: "\u{1F}")
        if groups[index][key] == nil {
            guard groups[index].count < rule.maxGroups else {
                statistics[index].groupOverflow += 1
                return nil
            }
            groups[index][key] = GroupState(group: values)
        }
        var state = groups[index][key]!
        defer { groups[index][key] = state }
        state.lastMatch = now
        state.arrivals.append(now)
        state.timestamps.append(record.timestampMilliseconds)
        if state.arrivals.count > rule.threshold {
            state.arrivals.removeFirst()
            state.timestamps.removeFirst()
        }
        if rule.samples > 0 {
            state.samples.append(String(decoding: record.json, as: UTF8.self))
            if state.samples.count > rule.samples { state.samples.removeFirst() }
        }
        guard now >= state.cooldownUntil else {
            state.suppressed += 1
            statistics[index].suppressed += 1
            return nil
        }
        guard state.arrivals.count >= rule.threshold, rule.windowNanoseconds == 0 || now - state.arrivals[0] <= rule.windowNanoseconds else {
            return nil
        }
        let notification = AlertNotification(
            rule: rule.name, status: .firing, group: values, count: state.arrivals.count, suppressed: state.suppressed,
            windowNanoseconds: rule.windowNanoseconds, firstTimestampMilliseconds: state.timestamps.first,
            lastTimestampMilliseconds: state.timestamps.last, samples: state.samples, notify: rule.notify
        )
        statistics[index].notifications += 1
        state.arrivals.removeAll()
        state.timestamps.removeAll()
        state.samples.removeAll()
        state.suppressed = 0
        state.cooldownUntil = now + rule.cooldownNanoseconds
        state.firing = true
        return notification
    }

    /// A group value for people: a string's content, anything else as its JSON.
    private static func display(_ raw: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return text }
        return String(text.dropFirst().dropLast())
    }
}
