public import ArgumentParser
import SluiceConfig

/// `sluice`: the log router, and its one-off admin commands from the same binary.
public struct SluiceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Route an app's log stream: parse each line into an event and fan it out to sinks.",
        discussion: """
            Pipe mode:     app 2>&1 | sluice [--config FILE]...
            Sidecar mode:  sluice --config FILE
            Every configuration key can be overridden from the environment (SLUICE_ + the key \
            path, upper-cased, with _ for every other character).
            """,
        subcommands: [RunCommand.self, ValidateCommand.self, TestCommand.self, ReplayCommand.self, ArchiveCommand.self],
        defaultSubcommand: RunCommand.self
    )

    public init() {}
}

/// `--config FILE`, repeatable: later files deep-merge over earlier ones.
struct ConfigurationOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("A YAML configuration file; repeat to layer files (later ones win).", valueName: "FILE")
    )
    var files: [String] = []

    /// The validated configuration, or every problem on stderr and exit 78.
    func loadOrExit(environment: [String: String] = ProcessEnvironment.current) throws -> RuntimeConfiguration {
        do {
            return try RuntimeConfiguration.load(files: files, environment: environment)
        } catch {
            var standardError = StandardError()
            print(error.description, to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
    }
}

/// EX_CONFIG from sysexits.h: the configuration is invalid.
let exitConfigurationError: Int32 = 78

/// The `sluice` program: parses the command line and runs it, exiting with its status.
public enum Sluice {
    public static func main(arguments: [String]? = nil) {
        SluiceCommand.main(arguments)
    }
}
