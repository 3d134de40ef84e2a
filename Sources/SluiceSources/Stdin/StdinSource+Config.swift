public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore

extension StdinSource {
    /// `type: stdin`. Keys: those of every source (`SourceSettings`); nothing else. Multiline
    /// joining is `auto` unless configured (`multiline: { preset: none }` turns it off).
    public convenience init(name: String, reading reader: ConfigReader, host: String) {
        self.init(name: name, settings: SourceSettings(reading: reader, defaultMultiline: .auto), host: host)
    }
}

extension StdinSource {
    /// `type: stdin`.
    public static let registration = SourceRegistration(type: "stdin") { StdinSource(name: $0, reading: $1, host: $2.host) }
}
