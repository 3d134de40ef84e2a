import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A test hook for crash testing every durable step, as ALICE and CrashMonkey test file systems:
/// with `SLUICE_TEST_CRASH_AT=N` in its environment Sluice kills itself (SIGKILL) just before
/// its Nth write, sync, rename, unlink or truncation of a disk buffer's or a file checkpoint's
/// files; with `SLUICE_TEST_CRASH_COUNT=PATH` it writes how many such steps it took to PATH when
/// it exits, so a test knows how many crash points a workload has. Without them it costs one
/// load of a constant per step.
public enum CrashPoints {
    public enum Step: Sendable {
        case write, sync, rename, unlink, truncate
    }

    /// The step to die before (0: never).
    static let target: Int = getenv("SLUICE_TEST_CRASH_AT").flatMap { Int(String(cString: $0)) } ?? 0
    static let countPath: String? = getenv("SLUICE_TEST_CRASH_COUNT").map { String(cString: $0) }
    static let counting = target > 0 || countPath != nil
    private static let taken = Atomic<Int>(0)

    /// Called just before each durable step on a buffer's or a checkpoint's files.
    @inline(__always)
    public static func reach(_ step: Step) {
        guard counting else { return }
        if taken.add(1, ordering: .relaxed).newValue == target { kill(getpid(), SIGKILL) }
    }

    /// Writes the number of steps taken to `SLUICE_TEST_CRASH_COUNT`, if set.
    public static func recordCount() {
        guard let countPath else { return }
        let text = "\(taken.load(ordering: .relaxed))\n"
        let descriptor = open(countPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        _ = text.withCString { write(descriptor, $0, strlen($0)) }
        close(descriptor)
    }
}
