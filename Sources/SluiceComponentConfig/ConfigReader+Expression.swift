public import SluiceConfig
public import SluiceCore

extension ConfigReader {
    /// An expression (`where`, `when`), parsed now so a mistake is reported at startup with its
    /// column; nil when absent.
    public func expression(_ key: String) -> Expression? {
        guard let text = optionalString(key) else { return nil }
        do {
            let expression = try ExpressionParser.parse(text)
            for source in expression.regexSources {
                let consequence = "the condition is not met, whether the regex is under =~ or !~ (counted in sluice_regex_limit_hits_total)"
                if let warning = Pattern.backtrackingWarning(source, key: (path + [key]).joined(separator: "."), consequence: consequence) {
                    context.notice(warning)
                }
            }
            return expression
        } catch {
            // A long expression is quoted around the column only.
            let quoted = text.count <= 200 ? text : "...\(text.dropFirst(max(0, error.column - 60)).prefix(120))..."
            reportInvalid(key, error.summary + " in '\(quoted)'")
            return nil
        }
    }
}
