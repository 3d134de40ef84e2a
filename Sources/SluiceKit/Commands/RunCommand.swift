import ArgumentParser
import Logging
import SluiceComponentConfig
import SluiceConfig

/// `sluice run` (the default): route events until the input ends or a signal stops Sluice.
struct RunCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Route events (the default command)."
    )

    @OptionGroup var options: ConfigurationOptions

    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp("Wrap mode: after --, the program to run and read (argv, no shell).", valueName: "program")
    )
    var command: [String] = []

    func run(with registry: ComponentRegistry) throws {
        let environment = ProcessEnvironment.current
        JSONLogHandler.bootstrap(environment: environment)
        let logger = Logger(label: "sluice")
        let configuration: RuntimeConfiguration
        do {
            configuration = try RuntimeConfiguration.load(files: options.files, environment: environment, wrappedCommand: command, registry: registry)
        } catch {
            logger.critical("invalid configuration; not starting", metadata: [
                "problems": .array(error.issues.map { .string($0.description) }),
            ])
            throw ExitCode(exitConfigurationError)
        }
        JSONLogHandler.redact(configuration.context.secrets)
        let files = options.files
        let status = try Supervisor(configuration: configuration) { () throws(ConfigurationError) in
            try RuntimeConfiguration.load(files: files, environment: environment, wrappedCommand: command, registry: registry)
        }.run()
        if status != 0 { throw ExitCode(status) }
    }
}
