import SluiceConfig

/// The configuration section of one source or sink of an extension type
/// (`sources.<name>` or `sinks.<name>`), read with the same rules as the built-in types: values
/// may come from files, `${VAR}` interpolation or `SLUICE_...` overrides, durations and sizes
/// take units, and every problem is reported with its key path and origin before Sluice
/// starts. Keys the extension does not read are rejected as unknown.
///
/// Reading never fails: a missing or invalid value is reported and the default comes back, so
/// one run of `sluice validate` lists every problem.
public struct ComponentSettings {
    let reader: ConfigReader

    init(_ reader: ConfigReader) {
        self.reader = reader
    }

    /// The component's name, the key under `sources` or `sinks`.
    public var name: String { reader.pathDescription.split(separator: ".").last.map(String.init) ?? "" }

    public func string(_ key: String, default defaultValue: String) -> String {
        reader.string(key, default: defaultValue)
    }

    /// A value that must be present; `hint` says what it should be.
    public func requiredString(_ key: String, hint: String) -> String {
        reader.requiredString(key, hint: hint)
    }

    public func optionalString(_ key: String) -> String? {
        reader.optionalString(key)
    }

    /// A credential: shown as `<redacted>` by `sluice validate` and never logged.
    public func secret(_ key: String) -> String? {
        reader.secret(key)
    }

    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int> = Int.min...Int.max) -> Int {
        reader.int(key, default: defaultValue, range: range)
    }

    public func bool(_ key: String, default defaultValue: Bool) -> Bool {
        reader.bool(key, default: defaultValue)
    }

    /// `250ms`, `5s`, `1m`, `1h`, `7d`.
    public func duration(_ key: String, default defaultValue: Duration) -> Duration {
        let (seconds, attoseconds) = defaultValue.components
        let nanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        return .nanoseconds(Int64(reader.duration(key, default: nanoseconds)))
    }

    /// Bytes: `512`, `64KiB`, `10MiB`, `1GiB`.
    public func size(_ key: String, default defaultValue: Int, range: ClosedRange<Int> = 0...Int.max) -> Int {
        reader.size(key, default: defaultValue, range: range)
    }

    public func stringList(_ key: String) -> [String]? {
        reader.stringList(key)
    }

    /// A map of strings, in file order.
    public func stringMap(_ key: String) -> [(key: String, value: String)] {
        reader.stringMap(key)
    }

    /// A nested map, read the same way.
    public func section(_ key: String) -> ComponentSettings {
        ComponentSettings(reader.section(key))
    }

    /// Reports a problem with `key` (with its full path and origin); Sluice will not start.
    public func reportInvalid(_ key: String, _ message: String) {
        reader.reportInvalid(key, message)
    }
}
