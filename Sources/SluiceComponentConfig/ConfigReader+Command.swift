public import SluiceConfig
public import SluiceCore

extension ConfigReader {
    /// `command` (argv, required), `env` (added to Sluice's environment) and
    /// `working_directory`: a program for the `exec` source or the `program` sink.
    ///
    /// - Parameter mustExist: also report a program that is not an executable file (searched
    ///   in the configuration's `PATH`), so a typo is a configuration error, not a retry loop.
    public func programCommand(mustExist: Bool = false) -> ProgramCommand {
        let arguments = stringList("command") ?? []
        if arguments.isEmpty {
            reportInvalid("command", "is required: the program and its arguments, as a list")
        }
        let extra = stringMap("env")
        var environment: [String: String]?
        if !extra.isEmpty {
            environment = context.environment
            for (key, value) in extra { environment?[key] = value }
        }
        let workingDirectory = optionalString("working_directory")
        if mustExist, let program = arguments.first {
            // A relative path is run from the working directory, so it is checked from there.
            let checked = program.contains("/") && !program.hasPrefix("/") && workingDirectory != nil ? "\(workingDirectory!)/\(program)" : program
            if ProgramCommand.locate(checked, searchPath: (environment ?? context.environment)["PATH"]) == nil {
                reportInvalid("command", program.contains("/") ? "\"\(program)\" is not an executable file" : "no program \"\(program)\" in PATH")
            }
        }
        return ProgramCommand(arguments: arguments, environment: environment, workingDirectory: workingDirectory)
    }
}
