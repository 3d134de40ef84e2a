import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("sluice test and sluice replay, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct AdminCommandTests {
    let directory = TemporaryDirectory()

    private var routingConfig: String {
        directory.write("routing.yaml", """
            sources:
              app: { type: stdin, labels: { service: checkout }, multiline: { preset: java } }
            sinks:
              console: { type: console }
              errors: { type: blackhole, where: 'level >= error' }
              alerts:
                type: alert
                rules:
                  - { name: error-burst, when: 'level >= error', threshold: 2, window: 1m, group_by: [service] }
                notifiers: {}
            """)
    }

    @Test func passingCasesExitZero() throws {
        let cases = directory.write("pass.yaml", """
            tests:
              - name: a stack trace joins its error line and reaches only the sinks that want it
                lines:
                  - '2024-06-01 ERROR request failed'
                  - '    at com.example.App.main(App.java:10)'
                  - '{"level":"info","msg":"ok"}'
                events:
                  - { level: error, message: "2024-06-01 ERROR request failed\\n    at com.example.App.main(App.java:10)", service: checkout }
                  - { level: info, msg: ok, source: app }
                sinks: { errors: [0], console: [0, 1] }
                alerts: []
              - name: two errors fire the burst rule once
                lines: ['{"level":"error","msg":"a"}', '{"lvl":"ERR","msg":"b"}']
                alerts: [error-burst]
            """)
        let run = try SluiceBinary.launch(["test", "--config", routingConfig, cases], stdin: .null)
        #expect(run.wait().exitStatus == 0)
        #expect(run.standardOutput.contains("2 tests, 0 failed"))
    }

    @Test func aFailingCaseShowsExpectedAgainstActualAndExitsOne() throws {
        let cases = directory.write("fail.yaml", """
            tests:
              - name: a warning is not an error
                lines: ['{"level":"warn","msg":"slow"}']
                events: [{ level: error, msg: slow }]
                sinks: { errors: [0] }
                alerts: [error-burst]
            """)
        let run = try SluiceBinary.launch(["test", "--config", routingConfig, cases], stdin: .null)
        #expect(run.wait().exitStatus == 1)
        #expect(run.standardOutput.contains("FAIL  a warning is not an error"))
        #expect(run.standardOutput.contains(#"event 0: level: expected "error", got "warn""#))
        #expect(run.standardOutput.contains("sink errors: expected events [0], got []"))
        #expect(run.standardOutput.contains(#"alerts: expected ["error-burst"] to fire, got []"#))
    }

    @Test func anInvalidCasesFileExits78NamingTheProblem() throws {
        let cases = directory.write("bad.yaml", """
            tests:
              - name: no lines
                evnts: []
            """)
        let run = try SluiceBinary.launch(["test", "--config", routingConfig, cases], stdin: .null)
        #expect(run.wait().exitStatus == 78)
        #expect(run.standardError.contains("lines"))
        #expect(run.standardError.contains("evnts"))
        #expect(run.standardError.contains("events"))
    }

    /// Archives three days of events, then replays them into the indexer twice:
    /// every event is indexed exactly once, in the index of its source and day.
    @Test func replayBackfillsTheIndexerExactlyOnce() throws {
        let server = try FakeBulkServer()
        let config = directory.write("replay.yaml", """
            sources:
              app: { type: stdin }
            sinks:
              archive: { type: archive, path: "\(directory.path)/out/all-%Y%m%d.ndjson.gz", gzip_level: 1 }
              search:
                enabled: "${SEARCH_ENABLED:-false}"
                type: elasticsearch
                endpoint: "${ELASTICSEARCH_URL:-http://127.0.0.1:9}"
                index: "logs-{source}-%Y.%m.%d"
                batch: { max_events: 500, timeout: 100ms }
            """)
        let lines = (0..<3000).map { #"{"ts":"2024-06-0\#($0 % 3 + 1)T12:00:00Z","level":"\#($0 % 10 == 0 ? "error" : "info")","n":\#($0)}"# }
        let archiving = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", lines.joined(separator: "\n") + "\n")))
        #expect(archiving.wait().exitStatus == 0)
        let archives = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/out").map { directory.path + "/out/" + $0 }
        #expect(!archives.isEmpty)

        let environment = ["SEARCH_ENABLED": "true", "ELASTICSEARCH_URL": server.url]
        let replay = try SluiceBinary.launch(["replay", "--config", config, "--sink", "search"] + archives, environment: environment, stdin: .null)
        #expect(replay.wait().exitStatus == 0)
        #expect(server.indexed.count == 3000)
        let indices = Set(server.requests.flatMap { $0.items.map(\.index) })
        #expect(indices == ["logs-app-2024.06.01", "logs-app-2024.06.02", "logs-app-2024.06.03"])
        let summary = events(replay.standardErrorLines).first { $0["message"] as? String == "replay finished" } ?? [:]
        #expect(summary["events_delivered"] as? Int == 3000)

        let again = try SluiceBinary.launch(["replay", "--config", config, "--sink", "search"] + archives, environment: environment, stdin: .null)
        #expect(again.wait().exitStatus == 0)
        #expect(server.indexed.count == 3000 && server.indexed.values.allSatisfy { $0 == 1 })
        let againSummary = events(again.standardErrorLines).first { $0["message"] as? String == "replay finished" } ?? [:]
        #expect(againSummary["events_already_present"] as? Int == 3000)
        #expect(againSummary["events_delivered"] as? Int == 0)

        // A copy of an archive under another name is the same events: nothing new is indexed.
        let copy = directory.path + "/copy.ndjson.gz"
        try FileManager.default.copyItem(atPath: archives[0], toPath: copy)
        let fromCopy = try SluiceBinary.launch(["replay", "--config", config, "--sink", "search", copy], environment: environment, stdin: .null)
        #expect(fromCopy.wait().exitStatus == 0)
        #expect(server.indexed.count == 3000)

        // A time range and a filter narrow the replay.
        let narrow = try SluiceBinary.launch(
            ["replay", "--config", config, "--sink", "search", "--from", "2024-06-02T00:00:00Z", "--to", "2024-06-03T00:00:00Z", "--where", "level >= error"] + archives,
            environment: environment, stdin: .null
        )
        #expect(narrow.wait().exitStatus == 0)
        let narrowSummary = events(narrow.standardErrorLines).first { $0["message"] as? String == "replay finished" } ?? [:]
        #expect(narrowSummary["events_delivered"] as? Int == 0)
        #expect(narrowSummary["events_already_present"] as? Int == 100)
        #expect(narrowSummary["events_skipped"] as? Int == 2900)
    }

    @Test func replayReportsADamagedArchiveAndAnUnknownSink() throws {
        let config = directory.write("d.yaml", """
            sources: { app: { type: stdin } }
            sinks: { out: { type: console } }
            """)
        let good = #"{"msg":"kept","source":"app"}"# + "\n"
        let damaged = directory.write("damaged.ndjson", good)
        #expect(try ChildProcess(executable: "/bin/gzip", arguments: [damaged]).wait().exitStatus == 0)
        let handle = try #require(FileHandle(forWritingAtPath: damaged + ".gz"))
        handle.seekToEndOfFile()
        handle.write(Data([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF]))
        handle.closeFile()
        let replay = try SluiceBinary.launch(["replay", "--config", config, "--sink", "out", damaged + ".gz"], stdin: .null)
        #expect(replay.wait().exitStatus == 1)
        #expect(replay.standardOutput == good)
        #expect(replay.standardError.contains("damaged at byte"))

        let unknown = try SluiceBinary.launch(["replay", "--config", config, "--sink", "nowhere", damaged + ".gz"], stdin: .null)
        #expect(unknown.wait().exitStatus == 78)
        #expect(unknown.standardError.contains(#"no enabled sink is named "nowhere" (sinks: out)"#))
    }
}
