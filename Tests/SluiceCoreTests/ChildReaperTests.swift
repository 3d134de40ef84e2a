import Glibc
import SluiceTesting
import Testing

@testable import SluiceCore

/// Starts `/bin/sh -c SCRIPT` with posix_spawn directly, as an orphan of the wrapped app is
/// started: not by Sluice, so not registered with the reaper.
private func spawnUnregistered(_ script: String) -> pid_t {
    var pid: pid_t = 0
    let arguments: [String] = ["/bin/sh", "-c", script]
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    #expect(posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0)
    return pid
}

@Suite(.timeLimit(.minutes(10)), .watchdog, .serialized) struct ChildReaperTests {
    /// The extension API's tests run a Sluice inside the test process, and it reaps every child
    /// on SIGCHLD; a test waiting for its own child must still learn how that child ended.
    @Test func aChildReapedByTheReaperStillReportsItsStatus() throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exit 3"], stdin: .null)
        // Reaped here, or by an in-process Sluice of another test on its SIGCHLD: either way
        // through the shared reaper, which keeps the status.
        var reaped = false
        for _ in 0..<1000 where !reaped {
            ChildReaper.shared.reapAll()
            reaped = kill(child.pid, 0) != 0 && errno == ESRCH
            if !reaped { ChildProcess.pause(milliseconds: 10) }
        }
        #expect(reaped)
        #expect(child.wait().exitStatus == 3)
    }

    /// Orphans are reaped and their statuses discarded: the table does not grow with the app's
    /// process churn, and no status is kept that a later child reusing the PID could be handed.
    @Test func anOrphansStatusIsNotKept() {
        let before = ChildReaper.shared.trackedChildren
        let orphans = (0..<200).map { _ in spawnUnregistered("exit 7") }
        // Reaped here, or by an in-process Sluice of another test on its SIGCHLD: gone either way.
        let gone = { orphans.allSatisfy { kill($0, 0) != 0 && errno == ESRCH } }
        for _ in 0..<1000 where !gone() {
            ChildReaper.shared.reapAll()
            ChildProcess.pause(milliseconds: 5)
        }
        #expect(gone())
        #expect(ChildReaper.shared.trackedChildren <= before)
        #expect(orphans.allSatisfy { ChildReaper.shared.exitIfEnded($0) == nil }, "an orphan's status would be handed to a child that reuses its PID")
    }

    /// A registered child's status is kept until it is asked for, then forgotten.
    @Test func aRegisteredChildsStatusIsHandedOutOnce() throws {
        let pid = try ProcessSpawner.spawn(["/bin/sh", "-c", "exit 5"])
        var reaped = false
        for _ in 0..<1000 where !reaped {
            ChildReaper.shared.reapAll()
            reaped = kill(pid, 0) != 0 && errno == ESRCH
            if !reaped { ChildProcess.pause(milliseconds: 10) }
        }
        #expect(ChildReaper.shared.waitForExit(of: pid) == ChildExit(waitStatus: 5 << 8))
        #expect(ChildReaper.shared.exitIfEnded(pid) == nil)
    }
}
