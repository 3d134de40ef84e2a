/// One problem found in the configuration: the key path, what is wrong, and where the value
/// came from.
public struct ConfigIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var origin: ConfigOrigin?

    public init(path: String, message: String, origin: ConfigOrigin? = nil) {
        self.path = path
        self.message = message
        self.origin = origin
    }

    public var description: String {
        let location = origin.map { " (\($0))" } ?? ""
        return path.isEmpty ? "\(message)\(location)" : "\(path): \(message)\(location)"
    }
}

/// The configuration could not be fully validated; Sluice does not start on it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(_ issues: [ConfigIssue]) {
        self.issues = issues
    }

    public var description: String {
        let count = issues.count == 1 ? "1 problem" : "\(issues.count) problems"
        return "invalid configuration (\(count)):\n" + issues.map { "  - \($0)" }.joined(separator: "\n")
    }
}
