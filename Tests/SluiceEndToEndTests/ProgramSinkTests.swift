import Foundation
import Glibc
import SluiceTesting
import Synchronization
import Testing

@Suite("program sink, against real programs", .timeLimit(.minutes(10)), .watchdog)
struct ProgramSinkTests {
    let directory = TemporaryDirectory()

    private func lines(_ count: Int, from start: Int = 0) -> String {
        (start..<(start + count)).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n"
    }

    private func numbers(in file: String) -> [Int] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return events(text.split(separator: "\n").map(String.init)).compactMap { $0["n"] as? Int }
    }

    private func summary(_ sluice: ChildProcess) -> [String: Any] {
        events(sluice.standardErrorLines).last ?? [:]
    }

    @Test func catIntoAFileGetsEveryEventInOrder() throws {
        let output = directory.path + "/cat.ndjson"
        let config = directory.write("cat.yaml", """
            sources: { app: { type: stdin } }
            sinks: { out: { type: program, command: [sh, -c, 'exec cat > "$OUT"'], env: { OUT: "\(output)" } } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", lines(50_000))))
        #expect(sluice.wait().exitStatus == 0)
        let delivered = numbers(in: output)
        #expect(delivered.count == 50_000)
        #expect(delivered == Array(0..<50_000), "out of order")
        #expect((summary(sluice)["events_out"] as? [String: Any])?["out"] as? Int == 50_000)
        #expect(sluice.standardError.contains(#""message":"program stopped""#))
    }

    /// The program reads 700 lines and exits with status 3, again and again: every run is
    /// logged with its status and stderr, and each next run first gets what the last one left
    /// in the pipe, so every event arrives once, in order.
    @Test func aProgramThatKeepsExitingIsRestartedAndLosesNothingUnderBlock() throws {
        let output = directory.path + "/exits.ndjson"
        let script = directory.write("exits.sh", #"i=0; while [ $i -lt 700 ] && read -r line; do printf '%s\n' "$line" >> "$OUT"; i=$((i+1)); done; echo "read $i lines" >&2; exit 3"#)
        let config = directory.write("exits.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              out: { type: program, command: [sh, "\(script)"], env: { OUT: "\(output)" }, restart_backoff: 5ms, max_restart_backoff: 20ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .pipe)
        // Half the lines while the program runs (its pipe breaks under Sluice), half at the end.
        sluice.write(lines(3000))
        #expect(Eventually.wait { numbers(in: output).count >= 2100 })
        sluice.write(lines(2000, from: 3000))
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let delivered = numbers(in: output)
        #expect(delivered.count == 5000)
        #expect(delivered == Array(0..<5000), "first difference at \(zip(delivered, 0...).first { $0 != $1 }.map { "\($0)" } ?? "the end")")
        let log = events(sluice.standardErrorLines)
        let exits = log.filter { ($0["message"] as? String)?.hasPrefix("program ended") == true }
        #expect(exits.count >= 6)
        #expect(exits.allSatisfy { $0["exit"] as? String == "exited with status 3" })
        #expect(exits.allSatisfy { ($0["stderr"] as? [String])?.last == "read 700 lines" })
        #expect((summary(sluice)["events_out"] as? [String: Any])?["out"] as? Int == 5000)
        #expect(summary(sluice)["dropped"] == nil)
    }

    @Test func underDropNewestWhatAnExitingProgramMissedIsCounted() throws {
        let output = directory.path + "/drops.ndjson"
        let script = directory.write("drops.sh", #"i=0; while [ $i -lt 500 ] && read -r line; do printf '%s\n' "$line" >> "$OUT"; i=$((i+1)); done; exit 1"#)
        let config = directory.write("drops.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              out: { type: program, when_full: drop_newest, command: [sh, "\(script)"], env: { OUT: "\(output)" }, restart_backoff: 5ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("drops.log", lines(4000))))
        #expect(sluice.wait().exitStatus == 1, "events were dropped: exit 1")
        let delivered = numbers(in: output)
        #expect(Set(delivered).count == delivered.count)
        let dropped = (summary(sluice)["dropped"] as? [String: Any])?["out"] as? [String: Any] ?? [:]
        let droppedCount = dropped.values.compactMap { $0 as? Int }.reduce(0, +)
        #expect(delivered.count + droppedCount == 4000)
        #expect((summary(sluice)["events_out"] as? [String: Any])?["out"] as? Int == delivered.count)
    }

    /// A program that never reads: its pipe fills, the ring fills, Sluice stops reading stdin and
    /// the writer blocks, with Sluice's memory bounded by its ring. At SIGTERM what the program
    /// never read is counted as dropped.
    @Test func aProgramThatNeverReadsHoldsTheWriterBackWithFlatMemory() throws {
        let config = directory.write("never.yaml", """
            sources: { app: { type: stdin } }
            sinks: { out: { type: program, command: [sh, -c, 'echo "not reading" >&2; exec sleep 600'] } }
            shutdown: { grace_period: 500ms }
            """)
        signal(SIGPIPE, SIG_IGN)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .pipe)
        let chunk = Array(String(repeating: #"{"pad":"\#(String(repeating: "x", count: 200))"}"# + "\n", count: 1000).utf8)
        let written = Atomic<Int>(0)
        let writer = Thread {
            while written.load(ordering: .relaxed) < 400_000 {
                sluice.write(chunk)
                written.add(1000, ordering: .relaxed)
            }
        }
        writer.start()
        #expect(Eventually.wait { sluice.standardError.contains("not reading") })
        ChildProcess.pause(milliseconds: 1500)
        let stalled = written.load(ordering: .relaxed)
        ChildProcess.pause(milliseconds: 1000)
        #expect(written.load(ordering: .relaxed) == stalled)
        #expect(stalled < 200_000)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 1, "what the program never read was dropped at the stop: exit 1")
        let log = events(sluice.standardErrorLines)
        #expect(log.contains { $0["message"] as? String == "not reading" && $0["sink"] as? String == "out" && $0["stream"] as? String == "stderr" })
        let final = summary(sluice)
        let dropped = ((final["dropped"] as? [String: Any])?["out"] as? [String: Any])?["shutdown"] as? Int ?? 0
        let read = (final["events_in"] as? [String: Any])?["app"] as? Int ?? -1
        #expect(dropped == read)
        #expect(final["peak_rss_kib"] as? Int ?? .max < 100_000)
    }

    @Test func aMissingProgramIsAConfigurationError() throws {
        let config = directory.write("missing.yaml", """
            sources: { app: { type: stdin } }
            sinks: { out: { type: program, command: [no-such-program-here, --flag] } }
            """)
        let sluice = try SluiceBinary.launch(["validate", "--config", config], stdin: .null)
        #expect(sluice.wait().exitStatus == 78)
        #expect(sluice.standardError.contains(#"sinks.out.command: no program "no-such-program-here" in PATH"#))
    }
}
