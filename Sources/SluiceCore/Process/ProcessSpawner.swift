import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// Why a program could not be started, with the exit status a shell would use for it.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let command: String
    public let errorNumber: Int32

    /// 127 when the program does not exist, 126 when it exists but cannot be executed.
    public var exitStatus: Int32 {
        errorNumber == ENOENT || errorNumber == ENOTDIR ? 127 : 126
    }

    public var description: String {
        "cannot start \(command): \(String(cString: strerror(errorNumber)))"
    }
}

/// Starts programs with `posix_spawn`: argv without a shell, the parent's signal mask and
/// ignored signals reset to defaults in the child, standard descriptors as given and no others.
public enum ProcessSpawner {
    /// What the child's descriptor 0, 1 or 2 becomes.
    public enum Descriptor {
        /// Our descriptor, duplicated into place.
        case use(Int32)
        /// A file opened in the child (read-only for 0, write-only otherwise).
        case open(String)
        /// Left as Sluice's own.
        case inherit
    }

    /// Spawns `arguments[0]` (searched in `PATH` when it has no slash) with `arguments`.
    /// `environment` nil passes Sluice's own environment unchanged.
    public static func spawn(
        _ arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        standardInput: Descriptor = .inherit,
        standardOutput: Descriptor = .inherit,
        standardError: Descriptor = .inherit
    ) throws(SpawnError) -> Int32 {
        precondition(!arguments.isEmpty, "a command needs at least a program name")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, descriptor) in [(Int32(0), standardInput), (1, standardOutput), (2, standardError)] {
            switch descriptor {
            case .use(let source): posix_spawn_file_actions_adddup2(&actions, source, target)
            case .open(let path): posix_spawn_file_actions_addopen(&actions, target, path, target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .inherit: break
            }
        }
        // Nothing past the standard streams: no socket, lock or segment file of Sluice's (nor a
        // descriptor another thread opens at this moment) outlives it in a child.
        guard sluice_spawn_add_close_from(&actions, 3) == 0 else { throw SpawnError(command: arguments[0], errorNumber: ENOSYS) }
        if let workingDirectory {
            // posix_spawn has no portable chdir action; glibc 2.29+ provides this one.
            guard sluice_spawn_add_chdir(&actions, workingDirectory) == 0 else {
                throw SpawnError(command: arguments[0], errorNumber: ENOSYS)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        // Registered with the reaper as it starts, so its status is kept for `waitForExit`.
        return try ChildReaper.shared.registering { () throws(SpawnError) -> Int32 in
            var pid: pid_t = 0
            // Without `environment`, Sluice's own environment byte for byte, in its order (not
            // through a dictionary, which would reorder it and repair values that are not UTF-8).
            let result = if var envp {
                posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, &envp)
            } else {
                posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
            }
            guard result == 0 else { throw SpawnError(command: arguments[0], errorNumber: result) }
            return pid
        }
    }

    /// The process environment as a dictionary.
    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }

    /// A pipe with both ends close-on-exec (the child gets its end through `dup2`).
    public static func makePipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        guard sluice_pipe_cloexec(&descriptors) == 0 else { throw SpawnError(command: "pipe", errorNumber: errno) }
        return (descriptors[0], descriptors[1])
    }
}
