public import SluiceComponentConfig
public import SluiceConfig
public import SluiceCore

/// How a `program` sink runs its command.
public struct ProgramSettings: Sendable {
    public var command: ProgramCommand
    /// The first pause before restarting a program that exited; doubles per quick exit.
    public var restartBackoffNanoseconds: UInt64 = 100_000_000
    /// The longest pause between restarts. (At the end the program has the sink's
    /// `shutdown.grace_period`, from its `DeliveryReport`, before SIGTERM.)
    public var maxRestartBackoffNanoseconds: UInt64 = 10_000_000_000

    public init(command: ProgramCommand) {
        self.command = command
    }

    /// `type: program`.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `command` | list of strings | required | argv; no shell; found in `PATH` (checked when the configuration loads) |
    /// | `env` | map of strings | none | added to (and overriding) Sluice's own environment |
    /// | `working_directory` | path | Sluice's | where the program starts |
    /// | `restart_backoff` | duration | `100ms` | first pause before restarting a program that exited; doubles while it keeps exiting within 10 s |
    /// | `max_restart_backoff` | duration | `10s` | the longest pause |
    ///
    /// At the end the program gets `shutdown.grace_period` to exit after its stdin closes.
    public init(reading reader: ConfigReader) {
        command = reader.programCommand(mustExist: true)
        restartBackoffNanoseconds = reader.duration("restart_backoff", default: restartBackoffNanoseconds, minimum: 1_000_000)
        maxRestartBackoffNanoseconds = reader.duration("max_restart_backoff", default: maxRestartBackoffNanoseconds, minimum: restartBackoffNanoseconds)
    }
}

extension ProgramSink {
    /// `type: program`.
    public static let registration = SinkRegistration(type: "program") { name, reader, _ in
        let settings = ProgramSettings(reading: reader)
        return SinkBlueprint { .acknowledging { ProgramSink(name: name, settings: settings, report: $0) } }
    }
}
