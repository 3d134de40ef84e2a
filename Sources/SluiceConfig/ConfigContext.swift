/// Shared state of one configuration read: the environment, every problem found so far, the
/// effective configuration being recorded, and which environment variables were consulted.
public final class ConfigContext: @unchecked Sendable {
    // @unchecked: a configuration is read by one thread; the context is then only inspected.
    public let environment: [String: String]
    public let effective = EffectiveConfiguration()
    public private(set) var issues: [ConfigIssue] = []
    /// Things worth saying that do not stop Sluice (a key under its old name, say).
    public private(set) var notices: [String] = []
    /// Secret values seen, so logs and messages can redact them wherever they appear.
    public private(set) var secrets: Set<String> = []
    private(set) var consultedVariables: Set<String> = []
    private(set) var knownVariables: [String] = []

    /// Variables with the `SLUICE_` prefix that are not configuration keys.
    public static let reservedVariables: Set<String> = ["SLUICE_CONFIG", "SLUICE_LOG_LEVEL"]
    public static let reservedPrefixes = ["SLUICE_TEST_"]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func report(_ issue: ConfigIssue) {
        issues.append(issue)
    }

    public func notice(_ text: String) {
        notices.append(text)
    }

    func addSecret(_ value: String) {
        if !value.isEmpty { secrets.insert(value) }
    }

    /// The environment variable for a key path: `SLUICE_` + the path upper-cased, each
    /// non-alphanumeric character becoming `_` (`sinks.archive.gzip_level` is
    /// `SLUICE_SINKS_ARCHIVE_GZIP_LEVEL`).
    public static func variableName(for path: [String]) -> String {
        let joined = path.joined(separator: ".")
        let mapped = joined.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) ? Character(scalar).uppercased().first! : "_"
        }
        return "SLUICE_" + String(mapped)
    }

    func lookupVariable(for path: [String]) -> (name: String, value: String?) {
        let name = Self.variableName(for: path)
        consultedVariables.insert(name)
        knownVariables.append(name)
        return (name, environment[name])
    }

    /// Marks every variable that a value of `document` interpolates as consulted: a `SLUICE_`
    /// variable a loaded file refers to (`${SLUICE_FIFO:-/run/app.fifo}`) is the user's own, not
    /// an override of a key.
    public func noteInterpolatedVariables(in document: ConfigNode) {
        switch document {
        case .map(let entries, _): for entry in entries { noteInterpolatedVariables(in: entry.value) }
        case .list(let items, _): for item in items { noteInterpolatedVariables(in: item) }
        case .scalar(let text, _): consultedVariables.formUnion(Interpolation.variableNames(in: text))
        case .null: break
        }
    }

    /// Reports `SLUICE_*` variables that match no configuration key (a misspelt override would
    /// otherwise be ignored in silence).
    public func reportUnusedVariables() {
        for name in environment.keys.sorted() where name.hasPrefix("SLUICE_") {
            guard !consultedVariables.contains(name), !Self.reservedVariables.contains(name),
                  !Self.reservedPrefixes.contains(where: name.hasPrefix) else { continue }
            var message = "matches no configuration key"
            if let suggestion = NearestKey.suggestion(for: name, among: knownVariables) {
                message += "; did you mean \(suggestion)?"
            } else {
                message += " (overrides apply to keys of sources and sinks defined in a file)"
            }
            report(ConfigIssue(path: name, message: message, origin: ConfigOrigin(environmentVariable: name)))
        }
    }

    /// Throws every problem found, if there is any. A problem that quotes a value never shows
    /// a secret, even one interpolated into a key that is not secret itself.
    public func validate() throws(ConfigurationError) {
        guard !issues.isEmpty else { return }
        throw ConfigurationError(issues.map { issue in
            var redacted = issue
            redacted.message = Self.redact(secrets, in: issue.message)
            return redacted
        })
    }

    /// `text` with every occurrence of each secret replaced by `<redacted>`.
    public static func redact(_ secrets: some Collection<String>, in text: String) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty && result.contains(secret) {
            result = result.split(separator: secret, omittingEmptySubsequences: false).joined(separator: "<redacted>")
        }
        return result
    }
}
