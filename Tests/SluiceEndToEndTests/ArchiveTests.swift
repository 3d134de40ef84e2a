import Foundation
import Glibc
import SluiceTesting
import Synchronization
import Testing

/// Line numbers written so far and when, shared with a writer thread.
final class WriteLog: Sendable {
    private let entries = Mutex<[(number: Int, at: Double)]>([])
    func record(_ number: Int) { entries.withLock { $0.append((number, Self.now())) } }
    /// The highest number written at or before `time`.
    func lastWritten(before time: Double) -> Int { entries.withLock { $0.last { $0.at <= time }?.number ?? -1 } }
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

@Suite("archive sink, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct ArchiveTests {
    let directory = TemporaryDirectory()

    private func archives() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/out")) ?? []
        return names.sorted().map { directory.path + "/out/" + $0 }
    }

    private func gunzip(_ paths: [String]) throws -> ChildProcess {
        let gzip = try ChildProcess(executable: "/bin/gzip", arguments: ["-dc"] + paths)
        gzip.wait()
        return gzip
    }

    @Test func theArchiveHoldsExactlyWhatTheConsoleWrote() throws {
        let input = (0..<30_000).map { #"{"ts":"2024-06-01T00:00:00.\#(String(format: "%03d", $0 % 1000))Z","n":\#($0),"msg":"event \#($0)"}"# }
        let file = directory.write("input.ndjson", input.joined(separator: "\n") + "\n")
        let config = directory.write("a.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              console: { type: console }
              archive: { type: archive, path: "\(directory.path)/out/{source}-%Y%m%dT%H%M%S.ndjson.gz", gzip_level: 1 }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(file))
        #expect(sluice.wait().exitStatus == 0)
        let files = archives()
        #expect(files.count == 1)
        let gzip = try gunzip(files)
        #expect(gzip.standardOutput == sluice.standardOutput)
        #expect(sluice.standardOutputLines.count == 30_000)
        #expect(try ChildProcess(executable: "/bin/gzip", arguments: ["-t"] + files).wait().exitStatus == 0)
        let verify = try SluiceBinary.launch(["archive", "verify"] + files, stdin: .null)
        #expect(verify.wait().exitStatus == 0)
        #expect(verify.standardOutput.contains("ok,") && verify.standardOutput.contains("30000 events"))
    }

    /// Directories Sluice fsynced, in order, from an strace log of openat and fsync: a file's
    /// data synced is not enough after a power loss if the directory entry naming it was not.
    /// With `-f`, a call another thread interrupts is logged in two lines (`<unfinished ...>`,
    /// then `<... fsync resumed>`): they are joined first.
    private static func syncedDirectories(inTrace trace: String) -> [String] {
        var openDirectories: [String: String] = [:]
        var synced: [String] = []
        for line in joinedCalls(trace) {
            if line.contains("openat("), line.contains("O_DIRECTORY"), let result = line.split(separator: "= ").last,
               let path = line.split(separator: "\"").dropFirst().first {
                openDirectories[String(result.prefix { $0.isNumber })] = String(path)
            } else if let range = line.range(of: "fsync(") {
                let descriptor = String(line[range.upperBound...].prefix { $0.isNumber })
                if line.hasSuffix("= 0"), let path = openDirectories[descriptor] { synced.append(path) }
            }
        }
        return synced
    }

    /// The trace's lines, each interrupted call joined with its resumption (same process id).
    private static func joinedCalls(_ trace: String) -> [String] {
        var pending: [Substring: String] = [:]
        var lines: [String] = []
        for line in trace.split(separator: "\n") {
            let pid = line.prefix { $0.isNumber }
            if line.hasSuffix("<unfinished ...>") {
                pending[pid] = String(line.dropLast("<unfinished ...>".count))
            } else if let resumed = line.range(of: " resumed>"), let start = pending.removeValue(forKey: pid) {
                lines.append(start + line[resumed.upperBound...])
            } else {
                lines.append(String(line))
            }
        }
        return lines
    }

    /// The trace reader sees a directory opened and synced while other threads interrupted
    /// both calls (a CI run once missed one that way).
    @Test func theTraceReaderJoinsInterruptedCalls() {
        let trace = """
            101 openat(AT_FDCWD, "/tmp/a", O_RDONLY|O_DIRECTORY|O_CLOEXEC <unfinished ...>
            102 openat(AT_FDCWD, "/tmp/b", O_RDONLY|O_CLOEXEC) = 7
            101 <... openat resumed>) = 5
            101 fsync(5 <unfinished ...>
            102 fsync(7) = 0
            101 <... fsync resumed>) = 0
            """
        #expect(Self.syncedDirectories(inTrace: trace) == ["/tmp/a"])
    }

    /// A new archive file, and every directory made for it, is synced into its parent directory
    /// before its first member counts as written.
    @Test(.requires("strace")) func newFilesAndDirectoriesAreSyncedIntoTheirParents() throws {
        let out = directory.path + "/made/for/it"
        let config = directory.write("durable.yaml", """
            sources: { app: { type: stdin } }
            sinks: { archive: { type: archive, path: "\(out)/a.ndjson.gz", gzip_level: 1 } }
            """)
        let trace = directory.path + "/strace.log"
        let sluice = try ChildProcess(
            executable: ExternalTool.path("strace") ?? "strace",
            arguments: ["-f", "-qq", "-e", "trace=openat,fsync", "-o", trace, SluiceBinary.path, "--config", config],
            environment: SluiceBinary.environment(), stdin: .file(directory.write("in.log", "one\ntwo\n"))
        )
        #expect(sluice.wait().exitStatus == 0)
        let log = try String(contentsOfFile: trace, encoding: .utf8)
        let synced = Self.syncedDirectories(inTrace: log)
        for made in [directory.path, directory.path + "/made", directory.path + "/made/for", out] {
            #expect(synced.contains(made), "\(made) was not fsynced after an entry was made in it")
        }
        let created = try #require(log.range(of: "\(out)/a.ndjson.gz\", O_WRONLY|O_CREAT|O_EXCL"))
        #expect(Self.syncedDirectories(inTrace: String(log[created.upperBound...])).contains(out), "the file's directory was synced after the file was made")
    }

    @Test func aSIGKILLLosesAtMostOneFlushIntervalAndARestartWritesNewFiles() throws {
        let config = directory.write("k.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              archive: { type: archive, path: "\(directory.path)/out/app-%Y%m%dT%H%M%S.ndjson.gz", flush_interval: 250ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        let log = WriteLog()
        let stop = Atomic<Bool>(false)
        let writer = Thread {
            var number = 0
            while !stop.load(ordering: .relaxed) {
                sluice.write((number..<(number + 100)).map { "line \($0)" }.joined(separator: "\n") + "\n")
                log.record(number + 99)
                number += 100
                _ = poll(nil, 0, 5)
            }
        }
        writer.start()
        _ = poll(nil, 0, 1500)
        let killedAt = WriteLog.now()
        sluice.send(SIGKILL)
        stop.store(true, ordering: .relaxed)
        #expect(sluice.wait().signal == SIGKILL)
        // Everything written more than one interval (plus scheduling slack) before the kill.
        let mustHave = log.lastWritten(before: killedAt - 0.25 - 0.5)
        #expect(mustHave > 1000, "the writer got going")
        let files = archives()
        let recovered = Set(try gunzip(files).standardOutputLines.compactMap { line -> Int? in
            guard let range = line.firstRange(of: "\"message\":\"line ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        })
        let missing = (0...mustHave).filter { !recovered.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) lines older than a flush interval are missing")

        // Restart: a new file beside the old one, nothing overwritten.
        let before = files
        let again = try SluiceBinary.launch(["--config", config])
        again.write("after restart\n")
        again.closeStdin()
        #expect(again.wait().exitStatus == 0)
        let after = archives()
        #expect(after.count == before.count + 1)
        #expect(try gunzip(Array(Set(after).subtracting(before))).standardOutput.contains("after restart"))
    }

    /// Runs Sluice with a file-size limit (a full disk, as far as its writes can tell).
    private func runOnAFullDisk(whenFull: String) throws -> (ChildProcess, [String: Any]) {
        let input = (0..<300_000).map { #"{"n":\#($0),"id":"\#(UUID().uuidString)"}"# }
        let file = directory.write("big.ndjson", input.joined(separator: "\n") + "\n")
        let config = directory.write("full.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              archive: { type: archive, path: "\(directory.path)/out/full.ndjson.gz", when_full: \(whenFull), compression_threads: 1 }
            shutdown: { grace_period: 300ms }
            """)
        // ulimit -f counts 512-byte blocks in dash: 256 KiB.
        let sluice = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "ulimit -f 512; exec \"$0\" --config \"$1\"", SluiceBinary.path, config],
            environment: SluiceBinary.environment(), stdin: .file(file)
        )
        #expect(Eventually.wait { sluice.standardError.contains("errno \(EFBIG)") })
        if whenFull == "drop_newest" {
            // Never held back: the source reads its whole input despite the failing sink.
            #expect(Eventually.wait(seconds: 60) { sluice.standardError.contains("\"source finished\"") })
        } else {
            #expect(!sluice.standardError.contains("\"source finished\""))
        }
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 1, "what the full disk kept out was dropped: exit 1")
        return (sluice, events(sluice.standardErrorLines).last ?? [:])
    }

    @Test func aFullDiskHoldsTheSourcesBackNamesThePathAndAccountsForEverything() throws {
        let (sluice, summary) = try runOnAFullDisk(whenFull: "block")
        let failure = events(sluice.standardErrorLines).first { $0["message"] as? String == "archive write failed; holding the sources back and retrying" }
        #expect((failure?["error"] as? String)?.contains(directory.path + "/out/full.ndjson.gz") == true)
        let read = (summary["events_in"] as? [String: Any])?["app"] as? Int ?? -1
        let delivered = (summary["events_out"] as? [String: Any])?["archive"] as? Int ?? -1
        let dropped = ((summary["dropped"] as? [String: Any])?["archive"] as? [String: Any])?["shutdown"] as? Int ?? 0
        #expect(read < 300_000, "the sources were held back: \(read) of 300000 read")
        #expect(dropped > 0)
        #expect(delivered + dropped == read)
        // The file holds only complete members: the failed one was cut off again.
        let verify = try SluiceBinary.launch(["archive", "verify", directory.path + "/out/full.ndjson.gz"], stdin: .null)
        #expect(verify.wait().exitStatus == 0)
        #expect(verify.standardOutput.contains("\(delivered) events"))
    }

    @Test func underDropNewestAFullDiskDropsAndCountsButNeverHoldsTheSources() throws {
        let (_, summary) = try runOnAFullDisk(whenFull: "drop_newest")
        let read = (summary["events_in"] as? [String: Any])?["app"] as? Int ?? -1
        let delivered = (summary["events_out"] as? [String: Any])?["archive"] as? Int ?? -1
        let dropped = (summary["dropped"] as? [String: Any])?["archive"] as? [String: Any] ?? [:]
        let busy = dropped["sink_busy"] as? Int ?? 0
        #expect(read == 300_000, "every line was read")
        #expect(busy > 0)
        #expect(delivered + busy + (dropped["shutdown"] as? Int ?? 0) == 300_000)
    }

    /// Someone removes the archive directory while Sluice writes into it: the directory is
    /// created again and every event after the removal is in it; nothing is counted as lost.
    @Test func anArchiveDirectoryRemovedWhileRunningIsCreatedAgain() throws {
        let config = directory.write("gone.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              archive: { type: archive, path: "\(directory.path)/out/{source}.ndjson.gz", gzip_level: 1, flush_interval: 100ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        let metrics = try #require(sluice.metricsPort())
        sluice.write((0..<5000).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
        // Written and flushed into the first file (events counted, then two flush intervals).
        #expect(Eventually.wait {
            HTTPGet.metric((try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? "", #"sluice_sink_events_total{sink="archive"}"#) == 5000
        })
        ChildProcess.pause(milliseconds: 300)
        #expect(try ChildProcess(executable: "/bin/rm", arguments: ["-rf", directory.path + "/out"]).wait().exitStatus == 0)
        sluice.write((5000..<10_000).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let numbers = events(try gunzip(archives()).standardOutputLines).compactMap { $0["n"] as? Int }
        #expect(numbers == Array(5000..<10_000))
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["archive"] as? Int == 10_000)
        #expect(summary["dropped"] == nil)
    }

    @Test func verifyReportsWhereAFileIsDamaged() throws {
        let config = directory.write("v.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              archive: { type: archive, path: "\(directory.path)/out/v.ndjson.gz", gzip_level: 1 }
            """)
        let input = (0..<200_000).map { "line \($0) with some text to compress" }.joined(separator: "\n") + "\n"
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("v.log", input)))
        #expect(sluice.wait().exitStatus == 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/out/v.ndjson.gz"))
        let truncated = directory.write("truncated.ndjson.gz", Array(original.prefix(original.count * 2 / 3)))
        var corrupt = Array(original)
        corrupt[corrupt.count / 2] ^= 0xFF
        let corrupted = directory.write("corrupt.ndjson.gz", corrupt)
        let verify = try SluiceBinary.launch(["archive", "verify", truncated, corrupted], stdin: .null)
        #expect(verify.wait().exitStatus == 1)
        let report = verify.standardErrorLines
        #expect(report.count == 2)
        #expect(report[0].contains("truncated.ndjson.gz: DAMAGED at byte") && report[0].contains("truncated"))
        #expect(report[1].contains("corrupt.ndjson.gz: DAMAGED at byte"))
    }
}
