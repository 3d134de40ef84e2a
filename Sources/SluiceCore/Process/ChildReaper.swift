import SluiceRing

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public struct ChildExit: Sendable, Equatable, CustomStringConvertible {
    public let status: Int32?
    public let signal: Int32?

    init(waitStatus: Int32) {
        let terminatingSignal = waitStatus & 0x7F
        if terminatingSignal == 0 {
            status = (waitStatus >> 8) & 0xFF
            signal = nil
        } else {
            status = nil
            signal = terminatingSignal
        }
    }

    /// The status a shell reports: the exit status, or 128 + N when signal N ended it.
    public var shellStatus: Int32 { status ?? 128 + (signal ?? 0) }

    public var description: String {
        if let status { return "exited with status \(status)" }
        return "killed by signal \(signal ?? 0)"
    }
}

/// Reaps child processes and remembers how each ended.
///
/// When Sluice is PID 1 in a container, orphans of the wrapped app are re-parented to it and
/// must be reaped or they stay zombies; `reapAll()` (run on every SIGCHLD) does that, and keeps
/// the statuses of Sluice's own children for whoever waits for them.
public final class ChildReaper: Sendable {
    public static let shared = ChildReaper()

    private let exits = Locked<[Int32: ChildExit]>([:])

    /// Reaps every child that has ended; returns how many.
    @discardableResult
    public func reapAll() -> Int {
        var reaped = 0
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return reaped }
            let exit = ChildExit(waitStatus: status)
            exits.withLock { $0[pid] = exit }
            reaped += 1
        }
    }

    /// Waits for `pid` to end, whether this call or `reapAll` reaps it.
    public func waitForExit(of pid: Int32) -> ChildExit {
        while true {
            if let exit = exits.withLock({ $0.removeValue(forKey: pid) }) { return exit }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return ChildExit(waitStatus: status) }
            // ECHILD: another reaper got it first and recorded it; look again.
            if result < 0 && errno == ECHILD, let exit = exits.withLock({ $0.removeValue(forKey: pid) }) { return exit }
            _ = poll(nil, 0, 20)
        }
    }

    /// How `pid` ended, if it has been reaped already; nil while it runs.
    public func exitIfEnded(_ pid: Int32) -> ChildExit? {
        if let exit = exits.withLock({ $0.removeValue(forKey: pid) }) { return exit }
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? ChildExit(waitStatus: status) : nil
    }
}
