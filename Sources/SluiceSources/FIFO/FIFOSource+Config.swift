public import SluiceComponentConfig
public import SluiceConfig

extension FIFOSource {
    /// `type: fifo`: a named pipe other processes write to.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `path` | path | required | created (with its directories) when missing |
    /// | `mode` | octal | `"0660"` | permissions of a FIFO Sluice creates |
    ///
    /// Plus the keys of every source (`SourceSettings`).
    public convenience init(name: String, reading reader: ConfigReader, host: String) {
        self.init(
            name: name,
            path: reader.requiredString("path", hint: "the named pipe to read, such as /var/run/sluice/app.fifo"),
            mode: reader.fileMode("mode", default: 0o660),
            settings: SourceSettings(reading: reader), host: host
        )
    }
}

extension FIFOSource {
    /// `type: fifo`.
    public static let registration = SourceRegistration(type: "fifo") { FIFOSource(name: $0, reading: $1, host: $2.host) }
}
