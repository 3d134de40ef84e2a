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
            reportInvalid(key, error.summary + " in '\(text)'")
            return nil
        }
    }
}
