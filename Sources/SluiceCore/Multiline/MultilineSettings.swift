/// How a source joins several lines into one event (a stack trace, a traceback, a panic).
public struct MultilineSettings: Sendable {
    public enum Rule: Sendable {
        /// A line matching the pattern starts a new event; any other line continues the current.
        case start(Pattern)
        /// A line matching the pattern continues the current event; any other starts a new one.
        case continuation(Pattern)
        /// A built-in rule for a common runtime's traces.
        case preset(MultilinePreset)
    }

    public var rule: Rule
    /// A group still open this long after its first line is emitted.
    public var timeoutNanoseconds: UInt64
    public var maxLines: Int
    public var maxBytes: Int

    public init(rule: Rule, timeoutNanoseconds: UInt64 = 1_000_000_000, maxLines: Int = 500, maxBytes: Int = 1 << 20) {
        self.rule = rule
        self.timeoutNanoseconds = timeoutNanoseconds
        self.maxLines = maxLines
        self.maxBytes = maxBytes
    }
}

/// Built-in joining rules.
public enum MultilinePreset: String, Sendable, CaseIterable {
    /// Java stack traces: indented `at ...` and `... N more` lines, `Caused by:`, `Suppressed:`.
    case java
    /// Python tracebacks: `Traceback (most recent call last):` (joined to the log line before
    /// it), the indented frames, and the exception line that ends the traceback.
    case python
    /// Go panics and goroutine dumps: from `panic:` or `fatal error:` on, blank lines,
    /// `goroutine N [...]:` headers, function lines and indented file lines.
    case go
}
