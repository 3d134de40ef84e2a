import Glibc
import SluiceCore
import SluiceTesting
import Testing

@Suite(.timeLimit(.minutes(2)), .watchdog) struct ChildReaperTests {
    /// The extension API's tests run a Sluice inside the test process, and it reaps every child
    /// on SIGCHLD; a test waiting for its own child must still learn how that child ended.
    @Test func aChildReapedByTheReaperStillReportsItsStatus() throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exit 3"], stdin: .null)
        var reaped = false
        for _ in 0..<500 where !reaped {
            reaped = ChildReaper.shared.reapAll() > 0 && kill(child.pid, 0) != 0
            ChildProcess.pause(milliseconds: 10)
        }
        #expect(reaped)
        #expect(child.wait().exitStatus == 3)
    }
}
