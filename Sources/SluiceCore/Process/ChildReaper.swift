import SluiceSync

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

/// Reaps child processes, and keeps how each of Sluice's own children ended until someone asks.
///
/// When Sluice is PID 1 in a container (or a child subreaper), orphans of the wrapped app are
/// re-parented to it and must be reaped or they stay zombies; `reapAll()` (run on every SIGCHLD)
/// does that. Only the children Sluice started itself (`ProcessSpawner.spawn` registers them)
/// have their status kept, for whoever waits for them: an orphan's status is discarded, so the
/// table never grows with the app's process churn, and a status can never be handed to a later
/// child that happens to get the same PID. A child is registered in the same critical section
/// that starts it, so a reap cannot fall between the two.
public final class ChildReaper: Sendable {
    public static let shared = ChildReaper()

    private struct State {
        /// Sluice's children: nil while running (or reaped by someone else), then how it ended.
        var children: [Int32: ChildExit?] = [:]
        var orphansReaped = 0
    }

    private let state = Locked(State())

    /// Starts a child with `spawn` (which returns its PID) and registers it, with no reap in
    /// between.
    func registering<Failure: Error>(_ spawn: () throws(Failure) -> Int32) throws(Failure) -> Int32 {
        let started = state.withLock { state -> Result<Int32, Failure> in
            do throws(Failure) {
                let pid = try spawn()
                // A PID seen before belonged to an earlier child whose status nobody collected.
                state.children[pid] = .some(nil)
                return .success(pid)
            } catch {
                return .failure(error)
            }
        }
        return try started.get()
    }

    /// Forgets a child its starter reaped itself (with `waitpid`).
    public func forget(_ pid: Int32) {
        state.withLock { _ = $0.children.removeValue(forKey: pid) }
    }

    /// Reaps every child that has ended; returns how many.
    @discardableResult
    public func reapAll() -> Int {
        state.withLock { state in
            var reaped = 0
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                guard pid > 0 else { return reaped }
                if state.children[pid] != nil {
                    state.children[pid] = ChildExit(waitStatus: status)
                } else {
                    state.orphansReaped += 1
                }
                reaped += 1
            }
        }
    }

    /// Children whose status is kept or awaited (bounded by the children Sluice runs).
    var trackedChildren: Int { state.withLock { $0.children.count } }

    /// Orphans reaped and discarded so far.
    public var orphansReaped: Int { state.withLock { $0.orphansReaped } }

    /// Waits for `pid` to end, whether this call or `reapAll` reaps it.
    public func waitForExit(of pid: Int32) -> ChildExit {
        while true {
            if let exit = exitIfEnded(pid) { return exit }
            _ = poll(nil, 0, 20)
        }
    }

    /// How `pid` ended, if it has been reaped already; nil while it runs.
    public func exitIfEnded(_ pid: Int32) -> ChildExit? {
        state.withLock { state in
            if case .some(.some(let exit)) = state.children[pid] {
                state.children[pid] = nil
                return exit
            }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            state.children[pid] = nil
            return ChildExit(waitStatus: status)
        }
    }
}
