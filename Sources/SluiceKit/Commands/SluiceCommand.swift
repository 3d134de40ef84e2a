import ArgumentParser
import Glibc
import SluiceComponentConfig
import SluiceConfig

/// `sluice`: the log router, and its one-off admin commands from the same binary.
struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Route an app's log stream: parse each line into an event and fan it out to sinks.",
        discussion: """
            Pipe mode:     app 2>&1 | sluice [--config FILE]...
            Wrap mode:     sluice [--config FILE]... -- app [ARG]...
            Sidecar mode:  sluice --config FILE
            Every configuration key can be overridden from the environment (SLUICE_ + the key \
            path, upper-cased, with _ for every other character).
            """,
        version: "sluice \(SluiceVersion.current)",
        subcommands: [RunCommand.self, ValidateCommand.self, TestCommand.self, ReplayCommand.self, ArchiveCommand.self, BufferCommand.self, TopCommand.self, TapCommand.self],
        defaultSubcommand: RunCommand.self
    )

    init() {}
}

/// `--config FILE`, repeatable: later files deep-merge over earlier ones.
struct ConfigurationOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("A YAML configuration file; repeat to layer files (later ones win).", valueName: "FILE")
    )
    var files: [String] = []

    /// The validated configuration, or every problem on stderr and exit 78.
    func loadOrExit(
        registry: ComponentRegistry, environment: [String: String] = ProcessEnvironment.current, wrappedCommand: [String] = []
    ) throws -> RuntimeConfiguration {
        do {
            return try RuntimeConfiguration.load(files: files, environment: environment, wrappedCommand: wrappedCommand, registry: registry)
        } catch {
            var standardError = StandardError()
            print(error.description, to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
    }
}

/// A command that reads a configuration, and so needs the component types of this build: the
/// built-in ones and the extensions `Sluice.main(extensions:)` was given.
protocol ConfigurationCommand: ParsableCommand {
    func run(with registry: ComponentRegistry) throws
}

extension ConfigurationCommand {
    func run() throws {
        try run(with: .builtIn)
    }
}

/// EX_CONFIG from sysexits.h: the configuration is invalid.
let exitConfigurationError: Int32 = 78

/// The `sluice` program, with every command, option and behaviour of the stock binary.
///
/// A team's own build adds types of its own and keeps everything else:
///
/// ```swift
/// import SluiceKit
///
/// Sluice.main(extensions: [
///     .sink("lines-to-file") { settings in
///         let path = settings.requiredString("path", hint: "where to append events")
///         return { try LinesToFile(path: path) }
///     },
/// ])
/// ```
public enum Sluice {
    /// Parses the command line (the process's when `arguments` is nil), runs it, and exits
    /// with its status.
    public static func main(arguments: [String]? = nil, extensions: [SluiceExtension] = []) -> Never {
        exit(run(arguments: arguments ?? Array(CommandLine.arguments.dropFirst()), extensions: extensions))
    }

    /// The same without exiting: returns the exit status (0, 1, 78 for an invalid
    /// configuration, the wrapped program's status in wrap mode).
    public static func run(arguments: [String], extensions: [SluiceExtension] = []) -> Int32 {
        let registry = registry(adding: extensions)
        do {
            var command = try SluiceCommand.parseAsRoot(arguments)
            if let configured = command as? any ConfigurationCommand {
                try configured.run(with: registry)
            } else {
                try command.run()
            }
            return 0
        } catch {
            let code = SluiceCommand.exitCode(for: error)
            let message = SluiceCommand.fullMessage(for: error)
            if !message.isEmpty && code == .success {
                print(message)
            } else if !message.isEmpty {
                var output = StandardError()
                print(message, to: &output)
            }
            return code.rawValue
        }
    }

    /// The built-in types and the extensions'.
    private static func registry(adding extensions: [SluiceExtension]) -> ComponentRegistry {
        var registry = ComponentRegistry.builtIn
        let builtIn = Set(registry.sources.keys).union(registry.sinks.keys)
        for item in extensions {
            precondition(!builtIn.contains(item.type), "\"\(item.type)\" is a built-in type; give the extension a name of its own")
            item.register(&registry)
        }
        return registry
    }
}
