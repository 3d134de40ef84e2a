#if canImport(Glibc)
import Glibc
#endif

/// A program to run: its argv (no shell), environment and working directory, as the `exec`
/// source and the `program` sink configure it.
public struct ProgramCommand: Sendable, Equatable {
    /// argv; the first is the program, found in `PATH` when it has no slash.
    public var arguments: [String]
    /// The whole environment for the program; nil passes Sluice's own.
    public var environment: [String: String]?
    /// Where the program starts; nil for Sluice's working directory.
    public var workingDirectory: String?

    public init(arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// Starts the program with the given descriptors.
    public func spawn(
        standardInput: ProcessSpawner.Descriptor, standardOutput: ProcessSpawner.Descriptor, standardError: ProcessSpawner.Descriptor
    ) throws(SpawnError) -> Int32 {
        try ProcessSpawner.spawn(
            arguments, environment: environment, workingDirectory: workingDirectory,
            standardInput: standardInput, standardOutput: standardOutput, standardError: standardError
        )
    }

    /// The executable file `program` names: itself when it has a slash, else the first match in
    /// `searchPath` (a `PATH` value). Nil when there is none.
    public static func locate(_ program: String, searchPath: String?) -> String? {
        guard !program.isEmpty else { return nil }
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            var status = stat()
            if stat(candidate, &status) == 0, status.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}
