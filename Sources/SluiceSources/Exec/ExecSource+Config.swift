public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore

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
        // A program that is not there is a configuration error (`sluice validate` names it),
        // not a source that stops at start.
        let command = reader.programCommand(mustExist: true)
        self.init(
            name: name, command: command.arguments, environment: command.environment,
            workingDirectory: command.workingDirectory, settings: SourceSettings(reading: reader), host: host
        )
    }
}

extension ExecSource {
    /// `type: exec`.
    public static let registration = SourceRegistration(type: "exec") { ExecSource(name: $0, reading: $1, host: $2.host) }
}
