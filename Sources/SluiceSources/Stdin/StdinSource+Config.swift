public import SluiceConfig

extension StdinSource {
    /// `type: stdin`. Keys: those of every source (`SourceSettings`); nothing else.
    public convenience init(name: String, reading reader: ConfigReader, host: String) {
        self.init(name: name, settings: SourceSettings(reading: reader), host: host)
    }
}
