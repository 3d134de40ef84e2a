public import SluiceCore

/// Evaluates alert rules over events and decides when to notify. No I/O and no clocks of its
/// own: time comes in with each call, so `sluice test` and the tests drive it exactly.
///
/// Windows slide over arrival time: per rule and group, the arrival times of the last
/// `threshold` matches are kept, and the rule fires when the oldest of them is within `window`
/// of the newest. Firing empties the window and starts the cooldown.
public final class AlertEngine {
    public let rules: [AlertRule]
    private let matcher: EventMatcher
    private var groups: [[String: GroupState]]
    /// The per-match numbers of each rule, apart from `rules` so a match copies nothing.
    private let limits: UnsafeMutableBufferPointer<(threshold: Int, window: UInt64, cooldown: UInt64, grouped: Bool)>
    /// Per rule, readable from any thread (metrics).
    public let counters: [RuleCounters]
    /// The one group of each rule without `group_by`.
    private var ungrouped: [GroupState?]
    /// Distinct `group_by` lists; each rule's index into them; and the loaded event's key for
    /// each, built once per event however many rules share it.
    private let groupSets: [[FieldPath]]
    private let ruleGroupSet: [Int]
    private var groupKeys: [String]
    private var groupKeyEvent: [Int]
    private var eventNumber = 0

    public var statistics: [RuleStatistics] { counters.map(\.snapshot) }

    /// A rule's numbers, counted atomically so a metrics scrape can read them any time.
    public final class RuleCounters: Sendable {
        public let matches = Counter()
        public let notifications = Counter()
        public let suppressed = Counter()
        public let groupOverflow = Counter()

        var snapshot: RuleStatistics {
            RuleStatistics(matches: matches.current, notifications: notifications.current, suppressed: suppressed.current, groupOverflow: groupOverflow.current)
        }
    }

    public struct RuleStatistics: Sendable, Equatable {
        public var matches = 0
        public var notifications = 0
        public var suppressed = 0
        /// Matches for groups beyond `max_groups`, not tracked.
        public var groupOverflow = 0
    }

    /// One group's window, samples and cooldown. A class, mutated in place: a struct copied out
    /// of the dictionary would copy its buffers on every match.
    final class GroupState {
        let group: [(field: String, value: String)]
        /// The arrival times and `@timestamp`s of the last `threshold` matches, as rings.
        private var arrivals: [UInt64]
        private var timestamps: [Int64]
        private var stored = 0
        private var next = 0
        /// The last `samples` matching events; their buffers are reused.
        private var samples: [[UInt8]]
        private var samplesStored = 0
        private var nextSample = 0
        var cooldownUntil: UInt64 = 0
        var suppressed = 0
        var firing = false
        var lastMatch: UInt64 = 0

        init(group: [(field: String, value: String)], threshold: Int, samples: Int) {
            self.group = group
            arrivals = Array(repeating: 0, count: threshold)
            timestamps = Array(repeating: 0, count: threshold)
            self.samples = Array(repeating: [], count: samples)
        }

        func record(arrival: UInt64, timestamp: Int64, event: UnsafeRawBufferPointer) {
            arrivals[next] = arrival
            timestamps[next] = timestamp
            next = (next + 1) % arrivals.count
            stored = min(stored + 1, arrivals.count)
            guard !samples.isEmpty else { return }
            samples[nextSample].removeAll(keepingCapacity: true)
            samples[nextSample].append(contentsOf: event)
            nextSample = (nextSample + 1) % samples.count
            samplesStored = min(samplesStored + 1, samples.count)
        }

        var count: Int { stored }
        /// The oldest kept arrival (the ring is full once the threshold is reached).
        var oldestArrival: UInt64 { arrivals[stored < arrivals.count ? 0 : next] }
        var oldestTimestamp: Int64 { timestamps[stored < timestamps.count ? 0 : next] }
        var newestTimestamp: Int64 { timestamps[(next + timestamps.count - 1) % timestamps.count] }

        var sampleTexts: [String] {
            let start = samplesStored < samples.count ? 0 : nextSample
            return (0..<samplesStored).map { String(decoding: samples[(start + $0) % samples.count], as: UTF8.self) }
        }

        func reset() {
            stored = 0
            next = 0
            samplesStored = 0
            nextSample = 0
        }
    }

    public init(rules: [AlertRule]) {
        self.rules = rules
        matcher = EventMatcher(rules.map(\.condition), extraFields: rules.flatMap(\.groupBy))
        groups = Array(repeating: [:], count: rules.count)
        ungrouped = Array(repeating: nil, count: rules.count)
        var sets: [[FieldPath]] = []
        ruleGroupSet = rules.map { rule in
            if let index = sets.firstIndex(of: rule.groupBy) { return index }
            sets.append(rule.groupBy)
            return sets.count - 1
        }
        groupSets = sets
        groupKeys = Array(repeating: "", count: sets.count)
        groupKeyEvent = Array(repeating: -1, count: sets.count)
        limits = .allocate(capacity: max(1, rules.count))
        counters = rules.map { _ in RuleCounters() }
        for (index, rule) in rules.enumerated() {
            limits[index] = (rule.threshold, rule.windowNanoseconds, rule.cooldownNanoseconds, !rule.groupBy.isEmpty)
        }
    }

    deinit {
        limits.deallocate()
    }

    /// Runs every rule over every event of the batch that arrived at `now` (monotonic ns).
    public func process(_ batch: EventBatch, now: UInt64) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        for position in 0..<batch.count {
            let record = batch[position]
            matcher.load(record)
            eventNumber += 1
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
            var all = groups[index].map { (key: $0.key, state: $0.value) }
            if let single = ungrouped[index] { all.append(("", single)) }
            for (key, state) in all {
                let quiet = now &- state.lastMatch
                if state.firing, let resolveAfter = rule.resolveAfterNanoseconds, quiet >= resolveAfter {
                    notifications.append(AlertNotification(
                        rule: rule.name, status: .resolved, group: state.group, count: 0, suppressed: state.suppressed,
                        windowNanoseconds: rule.windowNanoseconds, samples: [], notify: rule.notify
                    ))
                    counters[index].notifications.add(1)
                    forget(rule: index, key: key)
                } else if !state.firing, quiet > idleLimit, now >= state.cooldownUntil {
                    forget(rule: index, key: key)
                }
            }
        }
        return notifications
    }

    /// Groups currently tracked by rule `index`.
    public func trackedGroups(ofRule index: Int) -> Int { groups[index].count + (ungrouped[index] == nil ? 0 : 1) }

    private func forget(rule index: Int, key: String) {
        if limits[index].grouped { groups[index][key] = nil } else { ungrouped[index] = nil }
    }

    private func match(rule index: Int, record: EventRecord, now: UInt64) -> AlertNotification? {
        let limit = limits[index]
        counters[index].matches.add(1)
        let found = limit.grouped ? group(for: index) : (ungrouped[index] ?? newUngroupedState(index))
        guard let state = found else {
            counters[index].groupOverflow.add(1)
            return nil
        }
        state.lastMatch = now
        state.record(arrival: now, timestamp: record.timestampMilliseconds, event: record.json)
        guard now >= state.cooldownUntil else {
            state.suppressed += 1
            counters[index].suppressed.add(1)
            return nil
        }
        guard state.count >= limit.threshold, limit.window == 0 || now - state.oldestArrival <= limit.window else {
            return nil
        }
        let rule = rules[index]
        let notification = AlertNotification(
            rule: rule.name, status: .firing, group: state.group, count: state.count, suppressed: state.suppressed,
            windowNanoseconds: rule.windowNanoseconds, firstTimestampMilliseconds: state.oldestTimestamp,
            lastTimestampMilliseconds: state.newestTimestamp, samples: state.sampleTexts, notify: rule.notify
        )
        counters[index].notifications.add(1)
        state.reset()
        state.suppressed = 0
        state.cooldownUntil = now + rule.cooldownNanoseconds
        state.firing = true
        return notification
    }

    private func newUngroupedState(_ index: Int) -> GroupState {
        let state = GroupState(group: [], threshold: rules[index].threshold, samples: rules[index].samples)
        ungrouped[index] = state
        return state
    }

    /// The loaded event's group for rule `index`, created when new; nil beyond `max_groups`.
    private func group(for index: Int) -> GroupState? {
        let key = groupKey(set: ruleGroupSet[index])
        if let state = groups[index][key] { return state }
        let rule = rules[index]
        guard groups[index].count < rule.maxGroups else { return nil }
        let values = zip(rule.groupBy, key.split(separator: "\u{1F}", omittingEmptySubsequences: false)).map {
            (field: $0.description, value: String($1))
        }
        let state = GroupState(group: values, threshold: rule.threshold, samples: rule.samples)
        groups[index][key] = state
        return state
    }

    /// The loaded event's values of a `group_by` list, joined by U+001F.
    private func groupKey(set: Int) -> String {
        if groupKeyEvent[set] == eventNumber { return groupKeys[set] }
        var key = ""
        for (position, path) in groupSets[set].enumerated() {
            if position > 0 { key.append("\u{1F}") }
            if let raw = matcher.rawValue(of: path) { key.append(Self.display(raw)) }
        }
        groupKeys[set] = key
        groupKeyEvent[set] = eventNumber
        return key
    }

    /// A group value for people: a string's content, anything else as its JSON.
    private static func display(_ raw: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return text }
        return String(text.dropFirst().dropLast())
    }
}
