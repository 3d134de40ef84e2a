import Glibc
import SluiceTesting
import Testing

@testable import SluiceCore

@Suite(.timeLimit(.minutes(10)), .watchdog) struct ProcessSpawnerTests {
    /// A descriptor without O_CLOEXEC (a library's, or another thread's opened a moment ago) is
    /// not inherited: a child holding Sluice's sockets, lock or files would keep them past it.
    @Test func aChildInheritsOnlyItsStandardStreams() throws {
        let stray = open("/dev/null", O_RDONLY)
        #expect(dup2(stray, 200) == 200)
        close(stray)
        defer { close(200) }
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "cd /proc/self/fd && echo *"], stdin: .null)
        #expect(child.wait().exitStatus == 0)
        let open = child.standardOutput.split(whereSeparator: \.isWhitespace).map(String.init)
        #expect(open.contains("2"), "the listing worked: \(open)")
        #expect(!open.contains("200"), "the child inherited a stray descriptor: \(open)")
    }
}
