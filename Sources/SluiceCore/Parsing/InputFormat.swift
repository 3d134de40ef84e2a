/// How a source's lines become events.
public enum InputFormat: String, Sendable, CaseIterable {
    /// A line that is a JSON object keeps its fields; anything else becomes `message`.
    case auto
    /// Like `auto`, but a line that is not a JSON object is counted as unparsed.
    case json
    /// `key=value` pairs become fields; a line that is not logfmt becomes `message`, counted.
    case logfmt
    /// RFC 5424 and RFC 3164 headers become fields; anything else becomes `message`, counted.
    case syslog
    /// Every line becomes `message`, unparsed.
    case plain
}
