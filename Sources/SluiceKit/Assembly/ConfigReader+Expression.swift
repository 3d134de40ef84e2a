import SluiceConfig
import SluiceCore

extension ConfigReader {
    /// An expression (`where`, `when`), parsed now so a mistake is reported at startup with its
    /// column; nil when absent.
    func expression(_ key: String) -> Expression? {
        guard let text = optionalString(key) else { return nil }
        do {
            return try ExpressionParser.parse(text)
        } catch {
            // A long expression is quoted around the column only.
            let quoted = text.count <= 200 ? text : "...\(text.dropFirst(max(0, error.column - 60)).prefix(120))..."
            reportInvalid(key, error.summary + " in '\(quoted)'")
            return nil
        }
    }
}
