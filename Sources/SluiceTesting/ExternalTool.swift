public import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Programs the tests drive as real peers (`logger`, `strace`, `gzip`): `.ci/run` installs every
/// one of them, so in CI (`CI` set) a missing tool is a failure of the test that needs it;
/// elsewhere that test is skipped with a printed reason, never silently.
public enum ExternalTool {
    /// Whether this run is CI's (`CI=true`, as `.ci/run`'s callers set it).
    public static var inCI: Bool {
        guard let value = getenv("CI") else { return false }
        return !["", "0", "false"].contains(String(cString: value))
    }

    /// The tool's path in `PATH` (or the path itself when it has a slash); nil when absent.
    public static func path(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let directories = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `tool` is installed; in CI it always runs (and fails without the tool).
    public static func requires(_ tool: String) -> Self {
        .enabled(
            if: ExternalTool.inCI || ExternalTool.path(tool) != nil,
            "\(tool) is not installed here (`.ci/run` installs it; in CI its absence fails the test)"
        )
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `tool` is installed, in CI too: for a peer that `.ci/run` does not
    /// install (a JDK). Skipped with the printed reason otherwise.
    public static func optionallyRequires(_ tool: String, _ reason: String) -> Self {
        .enabled(if: ExternalTool.path(tool) != nil, "\(tool) is not installed: \(reason)")
    }
}

/// The Python of `.build/otel-venv`, where `.ci/setup --tests` installs the official
/// OpenTelemetry packages (the OTLP conformance peers).
public enum OpenTelemetryPython {
    public static func path(repository: String) -> String {
        repository + "/.build/otel-venv/bin/python3"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `.build/otel-venv` has the OpenTelemetry packages; in CI always.
    public static func requiresOpenTelemetryPython(repository: String) -> Self {
        .enabled(
            if: ExternalTool.inCI || access(OpenTelemetryPython.path(repository: repository), X_OK) == 0,
            "the OpenTelemetry Python packages are not installed (`.ci/setup --tests` puts them in .build/otel-venv)"
        )
    }
}

/// A tmpfs of a given size mounted for one test (a small, really full disk), unmounted when the
/// value goes. Needs root (or CAP_SYS_ADMIN), as CI has.
public final class SmallDisk: Sendable {
    public let path: String

    public init(path: String, bytes: Int) throws {
        self.path = path
        _ = mkdir(path, 0o755)
        let mount = try ChildProcess(executable: ExternalTool.path("mount") ?? "/bin/mount", arguments: ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
        let result = mount.wait()
        guard result.exitStatus == 0 else {
            throw ChildProcessError(message: "cannot mount a tmpfs at \(path): \(mount.standardError)")
        }
    }

    deinit {
        _ = try? ChildProcess(executable: ExternalTool.path("umount") ?? "/bin/umount", arguments: ["-l", path]).wait()
    }

    /// Whether this process may mount one (root): outside CI a test that needs it is skipped.
    public static var canMount: Bool { geteuid() == 0 }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when a tmpfs can be mounted (root); in CI it always runs.
    public static var requiresSmallDisk: Self {
        .enabled(if: ExternalTool.inCI || SmallDisk.canMount, "mounting a tmpfs needs root (CI runs as root; its absence there fails the test)")
    }
}
