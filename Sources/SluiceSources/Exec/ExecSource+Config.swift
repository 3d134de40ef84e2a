public import SluiceConfig

extension ExecSource {
    /// `type: exec`: runs a program and reads its stdout and stderr.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `command` | list of strings | required | argv; no shell; the program is found in `PATH` |
    /// | `env` | map of strings | none | added to (and overriding) Sluice's own environment |
    /// | `working_directory` | path | Sluice's | where the program starts |
    ///
    /// Plus the keys of every source (`SourceSettings`).
    public convenience init(name: String, reading reader: ConfigReader, host: String) {
        let command = reader.stringList("command") ?? []
        if command.isEmpty {
            reader.reportInvalid("command", "is required: the program and its arguments, as a list")
        }
        let extra = reader.stringMap("env")
        var environment: [String: String]?
        if !extra.isEmpty {
            environment = reader.context.environment
            for (key, value) in extra { environment?[key] = value }
        }
        self.init(
            name: name, command: command, environment: environment,
            workingDirectory: reader.optionalString("working_directory"),
            settings: SourceSettings(reading: reader), host: host
        )
    }
}
