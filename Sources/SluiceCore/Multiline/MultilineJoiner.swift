/// Joins lines into groups by a `MultilineSettings` rule. A group ends when a line does not
/// continue it, when it reaches `maxLines` or `maxBytes`, at its timeout, or at end of input;
/// the group's lines are kept with their newlines.
public struct MultilineJoiner: ~Copyable {
    public let settings: MultilineSettings?
    private var group = ByteWriter(capacity: 1024)
    private var completed = ByteWriter(capacity: 1024)
    private var lines = 0
    private var startedAt: UInt64 = 0
    private var presetState = PresetState()
    private let matcher: PatternMatcher?

    public init(settings: MultilineSettings?) {
        self.settings = settings
        switch settings?.rule {
        case .start(let pattern), .continuation(let pattern): matcher = pattern.matcher()
        default: matcher = nil
        }
    }

    public var isEnabled: Bool { settings != nil }

    /// Whether the rule is `auto` (which the encoder applies to a whole read at once).
    public var isAuto: Bool {
        if case .preset(.auto)? = settings?.rule { return true }
        return false
    }
    public var hasOpenGroup: Bool { lines > 0 }

    /// The group that the last `add` or `close` completed.
    public var completedGroup: UnsafeRawBufferPointer { completed.bytes }

    /// When the open group times out (monotonic nanoseconds).
    public var deadline: UInt64? {
        guard let settings, lines > 0 else { return nil }
        return startedAt + settings.timeoutNanoseconds
    }

    /// Adds a line. Returns true when that completed the previous group (now in
    /// `completedGroup`); the line itself is then the start of the next one.
    public mutating func add(_ line: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        guard let settings else { return false }
        let continues = lines > 0 && presetState.continues(line, rule: settings.rule, matcher: matcher)
            && lines < settings.maxLines && group.count + 1 + line.count <= settings.maxBytes
        if continues {
            group.append(0x0A)
            group.append(line)
            lines += 1
            return false
        }
        let completedPrevious = close()
        group.append(line)
        lines = 1
        startedAt = now
        presetState.started(line, rule: settings.rule)
        return completedPrevious
    }

    /// Adds `line` to the open group if it continues it (within the limits); returns false,
    /// adding nothing and starting nothing, if it does not or no group is open.
    public mutating func tryContinue(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let settings, lines > 0, presetState.continues(line, rule: settings.rule, matcher: matcher),
              lines < settings.maxLines, group.count + 1 + line.count <= settings.maxBytes else { return false }
        group.append(0x0A)
        group.append(line)
        lines += 1
        return true
    }

    /// Ends the open group, if any. Returns true when there was one (now in `completedGroup`).
    public mutating func close() -> Bool {
        guard lines > 0 else { return false }
        swap(&group, &completed)
        group.removeAll()
        lines = 0
        return true
    }
}
