import Foundation
import Glibc
import SluiceTesting
import Testing

/// Rotation while Sluice is stopped (a sidecar restarted, a node rebooted): the file it was
/// reading has been renamed, copied or compressed away by real `logrotate`, and a new file is at
/// the path. At the next start the checkpointed file is found by its identity (device and inode,
/// or its first bytes, or inside a `.gz`), read from the checkpoint to its end, and forgotten,
/// whatever the glob says; what cannot be found is named and counted, never silent.
@Suite("file source: rotation while Sluice is stopped", .timeLimit(.minutes(10)), .watchdog, .requires("/usr/sbin/logrotate"))
struct FileStoppedRotationTests {
    struct Rotation: CustomTestStringConvertible, Sendable {
        var mode: String
        var compression: String

        var testDescription: String { "\(mode), \(compression)" }
    }

    static let rotations = ["create", "copytruncate"].flatMap { mode in
        ["nocompress", "compress\n    delaycompress", "compress"].map { Rotation(mode: mode, compression: $0) }
    }

    private func config(_ directory: TemporaryDirectory, sink: String = "out: { type: console }") -> String {
        directory.write("file.yaml", """
            data_dir: \(directory.path)/data
            sources:
              app: { type: file, include: ["\(directory.path)/logs/*.log"], glob_interval: 1s }
            sinks: { \(sink) }
            shutdown: { grace_period: 2s }
            metrics: { address: "127.0.0.1:0" }

            """)
    }

    private func append(_ range: Range<Int>, to path: String) {
        let text = range.map { NumberedWriter.line(writer: 0, number: $0) }.joined()
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        _ = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    private func logrotate(_ directory: TemporaryDirectory, _ body: String) throws {
        let file = directory.write("logrotate.conf", "\(directory.path)/logs/app.log {\n    \(body)\n    missingok\n}\n")
        let run = try ChildProcess(executable: "/usr/sbin/logrotate", arguments: ["-f", "-s", directory.path + "/logrotate.state", file], stdin: .null)
        #expect(run.wait().exitStatus == 0, "logrotate: \(run.standardError)")
    }

    /// Runs Sluice until `expected` numbered lines are out (or the input has settled), then stops it.
    private func run(_ config: String, expecting expected: Int) throws -> ChildProcess {
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait(seconds: 60) { numberedLines(sluice.standardOutputLines).count >= expected })
        if expected == 0 {
            // Nothing is expected: give a rescan and a checkpoint the time to do something wrong.
            #expect(Eventually.wait { sluice.standardErrorLines.contains { $0.contains(#""message":"started""#) } })
            usleep(2_500_000)
        }
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 60).exitStatus == 0, "\(sluice.standardError.suffix(2000))")
        return sluice
    }

    /// Stopped after 2,000 lines; 3,000 more written to the old file while stopped; logrotate;
    /// 5,000 in the new file. Every line arrives exactly once across the runs, and a third run
    /// reads nothing again. Before, the old file's unread end (3,000 lines) never arrived and
    /// Sluice said "every event delivered".
    @Test(arguments: rotations)
    func theRotatedFilesUnreadEndIsReadAtTheNextStart(_ rotation: Rotation) throws {
        let directory = TemporaryDirectory()
        mkdir(directory.path + "/logs", 0o755)
        let log = directory.path + "/logs/app.log"
        let file = config(directory)
        append(0..<2_000, to: log)
        let first = try run(file, expecting: 2_000)
        append(2_000..<5_000, to: log)
        try logrotate(directory, "rotate 5\n    \(rotation.mode)\n    \(rotation.compression)")
        append(5_000..<10_000, to: log)
        let second = try run(file, expecting: 8_000)
        let third = try run(file, expecting: 0)

        var counts: [Int: Int] = [:]
        for sluice in [first, second, third] {
            for (number, count) in occurrences(numberedLines(sluice.standardOutputLines)) { counts[number, default: 0] += count }
        }
        let missing = (0..<10_000).filter { counts[$0] == nil }
        let doubled = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(missing.isEmpty, "\(missing.count) missing: \(runs(of: missing).prefix(4))")
        #expect(doubled.isEmpty, "\(doubled.count) doubled: \(runs(of: doubled).prefix(4))")
        #expect(numberedLines(third.standardOutputLines).isEmpty, "the third run read \(numberedLines(third.standardOutputLines).count) lines again")
        #expect(second.standardError.contains("found a file rotated while Sluice was stopped"), "\(second.standardError.suffix(3000))")
    }

    /// The old file is gone (logrotate's `rotate 0` deletes it) while Sluice was stopped with
    /// unread lines in it: the file and the unread bytes are named once in a warning, counted in
    /// `sluice_file_lost_bytes_total` and in the summary, and the exit status says so.
    @Test func aRotatedFileThatIsGoneIsNamedAndItsUnreadBytesCounted() throws {
        let directory = TemporaryDirectory()
        mkdir(directory.path + "/logs", 0o755)
        let log = directory.path + "/logs/app.log"
        let refusing = try SocketClient.refusingPort()
        defer { close(refusing.descriptor) }
        // An indexer that refuses: nothing is taken, so the checkpoint stays at 0 while the file
        // is read to its end; killed once that checkpoint is saved.
        let stuck = config(directory, sink: #"search: { type: elasticsearch, endpoint: "http://127.0.0.1:\#(refusing.port)", index: logs }"#)
        append(0..<10_000, to: log)
        let size = 10_000 * NumberedWriter.lineLength
        let first = try SluiceBinary.launch(["--config", stuck], stdin: .null)
        let checkpoints = directory.path + "/data/files/app.checkpoints"
        #expect(Eventually.wait(seconds: 30) { (try? String(contentsOfFile: checkpoints, encoding: .utf8))?.contains(" 0 0 ") == true
            && (try? String(contentsOfFile: checkpoints, encoding: .utf8))?.contains(" \(size) live ") == true })
        first.send(SIGKILL)
        _ = first.wait(seconds: 30)
        try logrotate(directory, "rotate 0\n    create")
        append(10_000..<10_010, to: log)

        let sluice = try SluiceBinary.launch(["--config", config(directory)], stdin: .null)
        #expect(Eventually.wait(seconds: 30) { numberedLines(sluice.standardOutputLines).count >= 10 })
        let port = try #require(sluice.metricsPort())
        let lost = HTTPGet.metric((try? HTTPGet.get(port: port, path: "/metrics").body) ?? "", #"sluice_file_lost_bytes_total{source="app"}"#)
        #expect(lost == Double(size), "lost \(lost ?? -1)")
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 30).exitStatus == 1, "input was lost: the exit status says so")
        let warnings = sluice.standardErrorLines.filter { $0.contains("is gone") }
        #expect(warnings.count == 1, "\(sluice.standardError.suffix(3000))")
        #expect(warnings.first?.contains(log) == true && warnings.first?.contains("\(size)") == true, "\(warnings)")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect("\(summary["input_problems"] ?? "")".contains("lost_file_bytes"), "\(summary)")
        #expect(summary["message"] as? String != "stopped; every event delivered", "\(summary)")
    }
}
