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
