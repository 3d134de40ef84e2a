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
    /// Every group's state; per rule, its groups' indices in it by key.
    private let table = AlertGroupTable()
    private var groups: [[String: Int32]]
    /// The per-match numbers of each rule, apart from `rules` so a match copies nothing.
    private let limits: UnsafeMutableBufferPointer<(threshold: Int, window: UInt64, cooldown: UInt64, grouped: Bool)>
    /// Per rule, readable from any thread (metrics). Matches, suppressions and overflows are
    /// tallied in `tallies` while a batch runs and added here once at its end, so the per-match
    /// work touches no atomics.
    public let counters: [RuleCounters]
    private let tallies: UnsafeMutableBufferPointer<(matches: Int, suppressed: Int, overflow: Int)>
    /// The one group of each rule without `group_by` (-1 until its first match).
    private let ungrouped: UnsafeMutableBufferPointer<Int32>
    /// Distinct `group_by` lists; each rule's index into them; and the loaded event's key for
    /// each, built once per event however many rules share it.
    private let groupSetSlots: [[Int]]
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

    public init(rules: [AlertRule]) {
        self.rules = rules
        let matcher = EventMatcher(rules.map(\.condition), extraFields: rules.flatMap(\.groupBy))
        self.matcher = matcher
        groups = Array(repeating: [:], count: rules.count)
        ungrouped = .allocate(capacity: max(1, rules.count))
        ungrouped.initialize(repeating: -1)
        var sets: [[FieldPath]] = []
        ruleGroupSet = rules.map { rule in
            if let index = sets.firstIndex(of: rule.groupBy) { return index }
            sets.append(rule.groupBy)
            return sets.count - 1
        }
        groupSetSlots = sets.map { paths in paths.map { matcher.slot(of: $0)! } }
        groupKeys = Array(repeating: "", count: sets.count)
        groupKeyEvent = Array(repeating: -1, count: sets.count)
        limits = .allocate(capacity: max(1, rules.count))
        counters = rules.map { _ in RuleCounters() }
        tallies = .allocate(capacity: max(1, rules.count))
        tallies.initialize(repeating: (0, 0, 0))
        for (index, rule) in rules.enumerated() {
            limits[index] = (rule.threshold, rule.windowNanoseconds, rule.cooldownNanoseconds, !rule.groupBy.isEmpty)
        }
    }

    deinit {
        limits.deallocate()
        tallies.deallocate()
        ungrouped.deallocate()
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
        publishTallies()
        return notifications
    }

    private func publishTallies() {
        for index in tallies.indices {
            let tally = tallies[index]
            counters[index].matches.add(tally.matches)
            counters[index].suppressed.add(tally.suppressed)
            counters[index].groupOverflow.add(tally.overflow)
            tallies[index] = (0, 0, 0)
        }
    }

    /// Sends `resolved` notices for quiet groups and forgets groups that no longer matter.
    public func tick(now: UInt64) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        for (index, rule) in rules.enumerated() {
            let idleLimit = max(rule.windowNanoseconds, rule.cooldownNanoseconds, rule.resolveAfterNanoseconds ?? 0)
            var all = groups[index].map { (key: $0.key, group: $0.value) }
            if ungrouped[index] >= 0 { all.append(("", ungrouped[index])) }
            for (key, group) in all {
                let state = table.state(group)
                let quiet = now &- state.pointee.lastMatch
                if state.pointee.firing, let resolveAfter = rule.resolveAfterNanoseconds, quiet >= resolveAfter {
                    notifications.append(AlertNotification(
                        rule: rule.name, status: .resolved, group: table.labels[Int(group)], count: 0, suppressed: state.pointee.suppressed,
                        windowNanoseconds: rule.windowNanoseconds, samples: [], notify: rule.notify
                    ))
                    counters[index].notifications.add(1)
                    forget(rule: index, key: key)
                } else if !state.pointee.firing, quiet > idleLimit, now >= state.pointee.cooldownUntil {
                    forget(rule: index, key: key)
                }
            }
        }
        return notifications
    }

    /// Takes over, from the engine this one replaces at a reload, the groups (windows, samples,
    /// cooldowns) and counts of every rule whose definition did not change (its `notify` list
    /// may); a changed rule starts empty. Returns the names of the rules kept. Both engines
    /// are idle: the old sink has finished and the new one has not started.
    func adopt(_ previous: AlertEngine) -> [String] {
        var kept: [String] = []
        for (index, rule) in rules.enumerated() {
            guard let old = previous.rules.firstIndex(where: { $0.name == rule.name }),
                  previous.rules[old].tracksLike(rule) else { continue }
            if previous.ungrouped[old] >= 0 {
                ungrouped[index] = previous.table.move(previous.ungrouped[old], to: table)
                previous.ungrouped[old] = -1
            }
            for (key, group) in previous.groups[old] {
                groups[index][key] = previous.table.move(group, to: table)
            }
            previous.groups[old] = [:]
            let counts = previous.counters[old].snapshot
            counters[index].matches.add(counts.matches)
            counters[index].notifications.add(counts.notifications)
            counters[index].suppressed.add(counts.suppressed)
            counters[index].groupOverflow.add(counts.groupOverflow)
            kept.append(rule.name)
        }
        return kept
    }

    /// Groups currently tracked by rule `index`.
    public func trackedGroups(ofRule index: Int) -> Int { groups[index].count + (ungrouped[index] < 0 ? 0 : 1) }

    private func forget(rule index: Int, key: String) {
        if limits[index].grouped {
            if let group = groups[index].removeValue(forKey: key) { table.remove(group) }
        } else if ungrouped[index] >= 0 {
            table.remove(ungrouped[index])
            ungrouped[index] = -1
        }
    }

    private func match(rule index: Int, record: EventRecord, now: UInt64) -> AlertNotification? {
        let limit = limits[index]
        tallies[index].matches += 1
        let found = limit.grouped ? group(for: index) : ungrouped[index] >= 0 ? ungrouped[index] : newUngroupedGroup(index)
        guard let group = found else {
            tallies[index].overflow += 1
            return nil
        }
        let state = table.state(group)
        state.pointee.lastMatch = now
        state.pointee.record(arrival: now, timestamp: record.timestampMilliseconds, event: record.json)
        guard now >= state.pointee.cooldownUntil else {
            state.pointee.suppressed += 1
            tallies[index].suppressed += 1
            return nil
        }
        guard state.pointee.count >= limit.threshold, limit.window == 0 || now - state.pointee.oldestArrival <= limit.window else {
            return nil
        }
        let rule = rules[index]
        let notification = AlertNotification(
            rule: rule.name, status: .firing, group: table.labels[Int(group)], count: state.pointee.count,
            suppressed: state.pointee.suppressed, windowNanoseconds: rule.windowNanoseconds,
            firstTimestampMilliseconds: state.pointee.oldestTimestamp, lastTimestampMilliseconds: state.pointee.newestTimestamp,
            samples: state.pointee.sampleTexts, notify: rule.notify
        )
        counters[index].notifications.add(1)
        state.pointee.reset()
        state.pointee.suppressed = 0
        state.pointee.cooldownUntil = now + rule.cooldownNanoseconds
        state.pointee.firing = true
        return notification
    }

    private func newUngroupedGroup(_ index: Int) -> Int32 {
        let group = table.add(AlertGroupState(threshold: rules[index].threshold, samples: rules[index].samples), labels: [])
        ungrouped[index] = group
        return group
    }

    /// The loaded event's group for rule `index`, created when new; nil beyond `max_groups`.
    private func group(for index: Int) -> Int32? {
        let key = groupKey(set: ruleGroupSet[index])
        if let group = groups[index][key] { return group }
        let rule = rules[index]
        guard groups[index].count < rule.maxGroups else { return nil }
        let values = zip(rule.groupBy, key.split(separator: "\u{1F}", omittingEmptySubsequences: false)).map {
            (field: $0.description, value: String($1))
        }
        let group = table.add(AlertGroupState(threshold: rule.threshold, samples: rule.samples), labels: values)
        groups[index][key] = group
        return group
    }

    /// The loaded event's values of a `group_by` list, joined by U+001F.
    private func groupKey(set: Int) -> String {
        if groupKeyEvent[set] == eventNumber { return groupKeys[set] }
        var key = ""
        for (position, slot) in groupSetSlots[set].enumerated() {
            if position > 0 { key.append("\u{1F}") }
            if let raw = matcher.rawValue(ofSlot: slot) { key.append(Self.display(raw)) }
        }
        groupKeys[set] = key
        groupKeyEvent[set] = eventNumber
        return key
    }

    /// A group value for people: a string's content, anything else as its JSON.
    private static func display(_ raw: UnsafeRawBufferPointer) -> String {
        let quote = UInt8(ascii: "\"")
        guard raw.count >= 2, raw[0] == quote, raw[raw.count - 1] == quote else { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[1..<(raw.count - 1)]), as: UTF8.self)
    }
}
