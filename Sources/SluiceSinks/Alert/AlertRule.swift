public import SluiceCore

/// One alert rule: when at least `threshold` events matching `when` arrive within `window`, per
/// distinct value of the `groupBy` fields, notify, then stay quiet for `cooldown`.
public struct AlertRule: Sendable {
    public var name: String
    public var condition: Expression
    /// Matches needed within `window` (1 with a zero window: every match fires).
    public var threshold: Int
    public var windowNanoseconds: UInt64
    public var groupBy: [FieldPath]
    /// No repeat notification for a group inside it; matches meanwhile are counted and
    /// reported with the next notification.
    public var cooldownNanoseconds: UInt64
    /// A group that fired and then saw no match for this long gets a `resolved` notice.
    public var resolveAfterNanoseconds: UInt64?
    public var notify: [String]
    /// Groups tracked at most; matches for further groups are counted as overflow.
    public var maxGroups: Int
    /// Events carried as samples in a notification.
    public var samples: Int

    public init(
        name: String, condition: Expression, threshold: Int = 1, windowNanoseconds: UInt64 = 0, groupBy: [FieldPath] = [],
        cooldownNanoseconds: UInt64 = 0, resolveAfterNanoseconds: UInt64? = nil, notify: [String] = [], maxGroups: Int = 10_000, samples: Int = 5
    ) {
        self.name = name
        self.condition = condition
        self.threshold = threshold
        self.windowNanoseconds = windowNanoseconds
        self.groupBy = groupBy
        self.cooldownNanoseconds = cooldownNanoseconds
        self.resolveAfterNanoseconds = resolveAfterNanoseconds
        self.notify = notify
        self.maxGroups = maxGroups
        self.samples = samples
    }
}

extension AlertRule {
    /// Whether `other` keeps groups exactly as this rule does, so its windows, samples and
    /// cooldowns carry over a reload: everything but the notifiers is the same.
    func tracksLike(_ other: AlertRule) -> Bool {
        name == other.name && condition == other.condition && threshold == other.threshold
            && windowNanoseconds == other.windowNanoseconds && groupBy == other.groupBy
            && cooldownNanoseconds == other.cooldownNanoseconds && resolveAfterNanoseconds == other.resolveAfterNanoseconds
            && maxGroups == other.maxGroups && samples == other.samples
    }
}

/// What an alert sends.
public struct AlertNotification: Sendable, Equatable {
    public enum Status: String, Sendable {
        case firing, resolved
    }

    public var rule: String
    public var status: Status
    /// The group's field values, by field path (empty without `group_by`).
    public var group: [(field: String, value: String)]
    /// Matches in the window that fired it (0 for `resolved`).
    public var count: Int
    /// Matches swallowed by the cooldown since the previous notification.
    public var suppressed: Int
    public var windowNanoseconds: UInt64
    /// `@timestamp`s (milliseconds) of the first and last matching events reported.
    public var firstTimestampMilliseconds: Int64?
    public var lastTimestampMilliseconds: Int64?
    /// Up to the rule's `samples` matching events, as JSON.
    public var samples: [String]
    public var notify: [String]

    public static func == (lhs: AlertNotification, rhs: AlertNotification) -> Bool {
        lhs.rule == rhs.rule && lhs.status == rhs.status && lhs.group.map(\.field) == rhs.group.map(\.field)
            && lhs.group.map(\.value) == rhs.group.map(\.value) && lhs.count == rhs.count && lhs.suppressed == rhs.suppressed
            && lhs.samples == rhs.samples
    }

    /// `service=checkout, region=eu` (or `all` without grouping).
    public var groupDescription: String {
        group.isEmpty ? "all" : group.map { "\($0.field)=\($0.value)" }.joined(separator: ", ")
    }
}
