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

/// Built-in joining rules, one per runtime; what each joins is in `PresetState.swift`.
public enum MultilinePreset: String, Sendable, CaseIterable {
    /// Java stack traces: the exception line after a log line, indented `at ...`, `... N more`
    /// and `Suppressed:` lines, `Caused by:`.
    case java
    /// Python tracebacks, chained exceptions and exception groups, joined to the log line
    /// before them (`logging.exception`).
    case python
    /// Go panics, fatal errors and signal dumps, every goroutine of a full dump.
    case go
    /// Node.js: an uncaught exception's `file.js:N` header, source line, caret and error with its
    /// `    at` frames, properties and `Node.js vN` line; or an error line and its frames.
    case node
    /// Ruby: an uncaught exception's `file.rb:N:in 'method': message (Class)` and its
    /// `\tfrom ...` lines.
    case ruby
    /// .NET: `Unhandled exception. System.X: ...` (or an exception line) and its `   at` frames,
    /// ` ---> ` inner exceptions and `--- End of ...` lines.
    case dotnet
    /// Every runtime above, each joined as its preset joins it, and nothing else: the default
    /// for stdin and a wrapped program (see `AutoTrace`).
    case auto
}
