/// How a source's lines become events.
public enum InputFormat: String, Sendable, CaseIterable {
    /// A line that is a JSON object keeps its fields; anything else becomes `message`.
    case auto
    /// Like `auto`, but a line that is not a JSON object is counted as a parse error.
    case json
    /// Every line becomes `message`, unparsed.
    case plain
}
