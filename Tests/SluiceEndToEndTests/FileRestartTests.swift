import Foundation
import Glibc
import SluiceTesting
import Testing

/// The file source's checkpoints through crashes and restarts, and files that come, go, shrink
/// and reuse inodes.
@Suite("file source: checkpoints, restarts, many files", .timeLimit(.minutes(10)), .watchdog)
struct FileRestartTests {
    let directory = TemporaryDirectory()

    private func config(_ extra: String = "", include: String = "logs/*.log") -> String {
        directory.write("file.yaml", """
            data_dir: \(directory.path)/data
            sources:
              app: { type: file, include: ["\(directory.path)/\(include)"], glob_interval: 1s\(extra) }
            sinks: { out: { type: console } }
            metrics: { address: "127.0.0.1:0" }
            """)
    }

    /// Starts Sluice and waits until it is ready: the file source has made its first scan.
    private func start(_ config: String) throws -> ChildProcess {
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.metricsPort())
        #expect(Eventually.wait { (try? HTTPGet.get(port: port, path: "/readyz").status) == 200 })
        return sluice
    }

    /// The checkpointed offset of each writer's file (`w<N>.log`), in lines.
    private func checkpointedLines() -> [Int: Int] {
        let text = (try? String(contentsOfFile: directory.path + "/data/files/app.checkpoints", encoding: .utf8)) ?? ""
        var lines: [Int: Int] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 8)
            guard fields.count == 9, let offset = Int(fields[4]), let name = fields[8].split(separator: "/").last,
                  name.hasPrefix("w"), let writer = Int(name.dropFirst().prefix { $0.isNumber }) else { continue }
            lines[writer] = offset / NumberedWriter.lineLength
        }
        return lines
    }

    /// Waits until `sluice` has read every file it had at start as far as it will: a file made
    /// after the start (`logs/caught-up.log`) is found by a later pass of the source's loop, so
    /// once its line is out every earlier file has had its read. The marker line is not one of
    /// the numbered lines the tests count.
    private func expectCaughtUp(_ sluice: ChildProcess) {
        let marker = "caught up \(UUID().uuidString)"
        directory.write("logs/caught-up.log", marker + "\n")
        #expect(Eventually.wait(seconds: 30) { sluice.standardOutputLines.contains { $0.contains(marker) } }, "the marker file was never read")
    }

    /// SIGKILL at random moments while 10 writers append; each restart resumes at the
    /// checkpoints: nothing is missing, and what is read twice is exactly what came after the
    /// last checkpoint before the kill. After SIGTERM, a restart reads nothing twice.
    @Test func killedAndRestartedItMissesNothingAndRepeatsOnlyPastTheCheckpoint() throws {
        mkdir(directory.path + "/logs", 0o755)
        let file = config()
        let writers = (0..<10).map { NumberedWriter(path: directory.path + "/logs/w\($0).log", writer: $0, total: 30_000, linesPerWrite: 100, pauseMicroseconds: 10_000) }
        var runs: [[(writer: Int, number: Int)]] = []
        var sluice = try start(file)
        for writer in writers { writer.start() }
        var repeated = 0
        for kill in 0..<3 {
            ChildProcess.pause(milliseconds: Int.random(in: 400...1_200))
            sluice.send(SIGKILL)
            _ = sluice.wait()
            let before = numberedLines(sluice.standardOutputLines)
            runs.append(before)
            let checkpoints = checkpointedLines()
            sluice = try start(file)
            // The next run starts each file exactly at its checkpoint.
            #expect(Eventually.wait(seconds: 20) { Set(numberedLines(sluice.standardOutputLines).map(\.writer)).count == 10 || writers.allSatisfy(\.isDone) })
            ChildProcess.pause(milliseconds: 300)
            let after = numberedLines(sluice.standardOutputLines)
            for writer in 0..<10 {
                let first = after.first { $0.writer == writer }?.number
                let resumedAt = checkpoints[writer] ?? 0
                #expect(first == nil || first == resumedAt, "kill \(kill), writer \(writer): resumed at \(first ?? -1), checkpoint \(resumedAt)")
                let seenBefore = Set(before.filter { $0.writer == writer }.map(\.number))
                let twice = after.filter { $0.writer == writer && seenBefore.contains($0.number) }
                repeated += twice.count
                #expect(twice.allSatisfy { $0.number >= resumedAt })
            }
        }
        #expect(Eventually.wait(seconds: 60) { writers.allSatisfy(\.isDone) })
        #expect(Eventually.wait(seconds: 60) {
            let seen = Set((runs.flatMap { $0 } + numberedLines(sluice.standardOutputLines)).map { $0.writer * 1_000_000 + $0.number })
            return seen.count == 300_000
        })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        print("file source: 3 SIGKILLs while 10 writers appended 300,000 lines: \(repeated) lines read twice, all past the checkpoint of the moment")
        // After SIGTERM: the checkpoints hold everything; a restart reads nothing again.
        let again = try start(file)
        expectCaughtUp(again)
        again.send(SIGTERM)
        #expect(again.wait().exitStatus == 0)
        #expect(numberedLines(again.standardOutputLines).count == 0, "read again after SIGTERM: \(again.standardOutputLines.prefix(3))")
    }

    /// 2,000 files appearing over time in new directories, with at most 200 open at once; 100
    /// large files deleted while they are read; one truncated and written again. All read as
    /// written.
    @Test func manyFilesComingGoingAndShrinkingAreAllRead() throws {
        mkdir(directory.path + "/many", 0o755)
        let line = { (file: Int, number: Int) in NumberedWriter.line(writer: file, number: number) }
        for file in 0..<100 {
            directory.write("many/big-\(file).log", (0..<2_000).map { line(10_000 + file, $0) }.joined())
        }
        directory.write("many/shrinks.log", (0..<1_000).map { line(20_000, $0) }.joined())
        let sluice = try start(config(", max_open_files: 200", include: "many/**/*.log"))
        // Deleted once found: read to their end all the same.
        for file in 0..<100 { unlink(directory.path + "/many/big-\(file).log") }
        for file in 0..<2_000 {
            if file % 100 == 0 { mkdir(directory.path + "/many/d\(file / 100)", 0o755) }
            directory.write("many/d\(file / 100)/f\(file).log", (0..<3).map { line(file, $0) }.joined())
            if file % 50 == 0 { usleep(20_000) }
        }
        #expect(Eventually.wait(seconds: 60) { numberedLines(sluice.standardOutputLines).filter { $0.writer == 20_000 }.count == 1_000 })
        truncate(directory.path + "/many/shrinks.log", 0)
        let shrunk = open(directory.path + "/many/shrinks.log", O_WRONLY | O_APPEND)
        _ = Array((0..<10).map { line(20_001, $0) }.joined().utf8).withUnsafeBytes { write(shrunk, $0.baseAddress, $0.count) }
        close(shrunk)
        let expected = 100 * 2_000 + 1_000 + 10 + 2_000 * 3
        #expect(Eventually.wait(seconds: 90) { sluice.standardOutputLines.count >= expected })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        var counts: [Int: Int] = [:]
        for (writer, number) in numberedLines(sluice.standardOutputLines) { counts[writer * 100_000 + number, default: 0] += 1 }
        let small = (0..<2_000).flatMap { file in (0..<3).map { file * 100_000 + $0 } }
        let big = (0..<100).flatMap { file in (0..<2_000).map { (10_000 + file) * 100_000 + $0 } }
        let shrinking = (0..<1_000).map { 20_000 * 100_000 + $0 } + (0..<10).map { 20_001 * 100_000 + $0 }
        let missing = (small + big + shrinking).filter { counts[$0] == nil }
        #expect(missing.count == 0, "missing \(missing.count), first \(missing.prefix(5))")
        #expect(counts.values.filter { $0 > 1 }.count == 0, "read twice: \(counts.filter { $0.value > 1 }.count)")
    }

    /// A file deleted while Sluice was stopped, and a new one that got its inode number: the
    /// fingerprint tells them apart, so the new file is read from its start, not from the old
    /// one's checkpoint.
    @Test func aNewFileOnAReusedInodeIsReadFromItsStart() throws {
        mkdir(directory.path + "/logs", 0o755)
        let file = config()
        let old = directory.write("logs/old.log", (0..<500).map { NumberedWriter.line(writer: 1, number: $0) }.joined())
        var status = stat()
        stat(old, &status)
        let inode = status.st_ino
        let first = try start(file)
        #expect(Eventually.wait { first.standardOutputLines.count == 500 })
        first.send(SIGTERM)
        #expect(first.wait().exitStatus == 0)
        unlink(old)
        // Create files until one gets the freed inode number (ext4 hands it out again at once).
        var reused: String?
        for attempt in 0..<2_000 where reused == nil {
            let candidate = directory.write("logs/candidate-\(attempt).tmp", "")
            stat(candidate, &status)
            if status.st_ino == inode { reused = candidate } else { unlink(candidate) }
        }
        guard let reused else {
            print("skipped: this filesystem did not reuse inode \(inode) in 2,000 files, so inode reuse cannot be staged here")
            return
        }
        let path = directory.path + "/logs/new.log"
        rename(reused, path)
        let content = (0..<1_000).map { NumberedWriter.line(writer: 2, number: $0) }.joined()
        let descriptor = open(path, O_WRONLY | O_APPEND)
        _ = Array(content.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        let second = try start(file)
        #expect(Eventually.wait { second.standardOutputLines.count >= 1_000 })
        ChildProcess.pause(milliseconds: 300)
        second.send(SIGTERM)
        #expect(second.wait().exitStatus == 0)
        let numbers = numberedLines(second.standardOutputLines).filter { $0.writer == 2 }.map(\.number)
        #expect(numbers == Array(0..<1_000), "read \(numbers.count) lines, from \(numbers.first ?? -1)")
    }

    /// `start_at: end` skips what a file held when Sluice first saw it, and only that: the
    /// position is checkpointed even though nothing was read, so lines written while Sluice
    /// was down (here after a SIGKILL) are read at the next start.
    @Test func startAtEndIsCheckpointedSoADownTimeIsNotSkipped() throws {
        mkdir(directory.path + "/logs", 0o755)
        let file = config(", start_at: end")
        let path = directory.write("logs/w0.log", (0..<100).map { NumberedWriter.line(writer: 0, number: $0) }.joined())
        let first = try start(file)
        // The position (the file's end) is checkpointed before the kill.
        #expect(Eventually.wait { checkpointedLines()[0] == 100 }, "no checkpoint at the file's end")
        first.send(SIGKILL)
        _ = first.wait()
        #expect(numberedLines(first.standardOutputLines).count == 0, "start_at: end skips what was there")
        let descriptor = open(path, O_WRONLY | O_APPEND)
        _ = Array((100..<150).map { NumberedWriter.line(writer: 0, number: $0) }.joined().utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        let second = try start(file)
        #expect(Eventually.wait { numberedLines(second.standardOutputLines).count >= 50 })
        ChildProcess.pause(milliseconds: 200)
        second.send(SIGTERM)
        #expect(second.wait().exitStatus == 0)
        #expect(numberedLines(second.standardOutputLines).map(\.number) == Array(100..<150))
    }
}
