import Foundation
import Glibc
import SluiceTesting
import Testing

/// The `otlp` source against requests that are small on the wire and large once decoded, many
/// at once, with a sink that takes everything and with one that takes nothing: memory stays
/// bounded, every answer is 200, 413 or 503, and what was answered 200 is exactly what is
/// counted in, delivered or counted as dropped.
@Suite("otlp: bounded memory and exact accounting under load", .timeLimit(.minutes(10)), .watchdog)
struct OTLPLimitTests {
    static let peer = String(#filePath.split(separator: "/Tests/").first ?? "") + "/Tests/Peers/otlp_flood.py"
    let directory = TemporaryDirectory()

    private func config(_ name: String, sink: String, extra: String = "") -> String {
        directory.write(name, """
            sources: { otel: { type: otlp, address: "127.0.0.1:0" } }
            sinks: { out: \(sink) }
            shutdown: { grace_period: 2s }
            metrics: { address: "127.0.0.1:0" }
            \(extra)

            """)
    }

    private func flood(_ port: Int, _ arguments: [String]) throws -> [Any] {
        let client = try ChildProcess(executable: "/usr/bin/env", arguments: ["python3", Self.peer, "\(port)"] + arguments, stdin: .null)
        #expect(client.wait(seconds: 300).exitStatus == 0, "\(client.standardError.suffix(1000))")
        let object = try JSONSerialization.jsonObject(with: Data(client.standardOutput.utf8)) as? [String: Any]
        return object?["statuses"] as? [Any] ?? []
    }

    private func summary(_ sluice: ChildProcess) -> [String: Any] {
        events(sluice.standardErrorLines).last ?? [:]
    }

    /// Four requests of 4,000,000 empty log records (8 MB; 8 KB gzipped) at once, to a
    /// blackhole and to an indexer that refuses: before, 1.5 GB per request and every one
    /// answered 200; now each is refused (413: more than `max_records`) and Sluice stays under
    /// 150 MiB.
    @Test(arguments: ["blackhole", "stuck"], [false, true])
    func aSmallRequestOfMillionsOfEmptyRecordsIsRefusedInBoundedMemory(_ sink: String, gzipped: Bool) throws {
        let (refusing, port) = try SocketClient.refusingPort()
        defer { close(refusing) }
        let sinkConfig = sink == "blackhole" ? "{ type: blackhole }" : "{ type: elasticsearch, endpoint: \"http://127.0.0.1:\(port)\", index: logs }"
        let sluice = try SluiceBinary.launch(["--config", config("empty.yaml", sink: sinkConfig)], stdin: .null)
        let listening = try #require(sluice.listeningPort(of: "otel"))
        let statuses = try flood(listening, ["--requests", "4", "--records", "4000000", "--concurrency", "4"] + (gzipped ? ["--gzip"] : []))
        #expect(statuses.count == 4)
        #expect(statuses.allSatisfy { [200, 413, 503].contains($0 as? Int ?? 0) }, "\(statuses)")
        sluice.send(SIGTERM)
        _ = sluice.wait(seconds: 60)
        let summary = summary(sluice)
        #expect(summary["peak_rss_kib"] as? Int ?? .max < 150 * 1024, "\(summary)")
        #expect(summary["unaccounted"] == nil, "\(summary)")
    }

    /// Large valid requests (90,000 records each), eight at once, under a 24 MiB request memory:
    /// some are answered 503 with Retry-After instead of growing Sluice, the others are taken,
    /// and what was taken is what is delivered.
    @Test func theRequestMemoryBudgetAnswers503BeforeItIsExceeded() throws {
        let sluice = try SluiceBinary.launch(["--config", config("budget.yaml", sink: "{ type: blackhole }", extra: "limits: { request_memory: 24MiB }")], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "otel"))
        let statuses = try flood(port, ["--requests", "16", "--records", "90000", "--body-bytes", "48", "--concurrency", "8"])
        let codes = statuses.compactMap { $0 as? Int }
        #expect(codes.count == 16 && codes.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
        #expect(codes.contains(503), "the budget never refused: \(codes)")
        #expect(codes.contains(200), "the budget refused everything: \(codes)")
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 60).exitStatus == 0)
        let summary = summary(sluice)
        let taken = codes.filter { $0 == 200 }.count * 90_000
        #expect((summary["events_in"] as? [String: Any])?["otel"] as? Int == taken, "\(summary)")
        #expect((summary["events_out"] as? [String: Any])?["out"] as? Int == taken, "\(summary)")
        #expect(summary["peak_rss_kib"] as? Int ?? .max < 150 * 1024, "\(summary)")
    }

    /// Forty requests of 100,000 records to an indexer that refuses (the sink holds the
    /// sources back): the ones answered 503 are not counted in, and every record answered 200
    /// is counted as delivered, dropped or dropped at the source when the grace period ends.
    /// Before: events_in was 4,000,000 whatever the answers, and 880,000 records answered 200
    /// were neither delivered nor counted.
    @Test func recordsAnswered200AreExactlyWhatIsCountedInAndAccountedFor() throws {
        let (refusing, port) = try SocketClient.refusingPort()
        defer { close(refusing) }
        let sink = "{ type: elasticsearch, endpoint: \"http://127.0.0.1:\(port)\", index: logs, batch: { max_events: 5000 } }"
        let sluice = try SluiceBinary.launch(["--config", config("down.yaml", sink: sink)], stdin: .null)
        let listening = try #require(sluice.listeningPort(of: "otel"))
        let statuses = try flood(listening, ["--requests", "40", "--records", "100000", "--body-bytes", "16", "--concurrency", "4"])
        let codes = statuses.compactMap { $0 as? Int }
        #expect(codes.count == 40 && codes.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 60).exitStatus == 1, "events were dropped: exit 1")
        let summary = summary(sluice)
        #expect(summary["unaccounted"] == nil, "\(summary)")
        let taken = codes.filter { $0 == 200 }.count * 100_000
        let read = (summary["events_in"] as? [String: Any])?["otel"] as? Int ?? -1
        #expect(read == taken, "answered 200: \(taken), counted in: \(read)")
        let delivered = (summary["events_out"] as? [String: Any])?["out"] as? Int ?? 0
        let droppedAtSink = ((summary["dropped"] as? [String: Any])?["out"] as? [String: Any])?.values.compactMap { $0 as? Int }.reduce(0, +) ?? 0
        let droppedAtSource = ((summary["dropped_at_sources"] as? [String: Any])?["otel"] as? [String: Any])?["shutdown"] as? Int ?? 0
        #expect(delivered + droppedAtSink + droppedAtSource == read, "delivered \(delivered) + dropped \(droppedAtSink) + at the source \(droppedAtSource) != \(read)")
    }

    /// The same with the indexer up: every record answered 200 is stored once, and the books
    /// say so (before: "every event delivered" with 4,000,000 in and 2,500,000 out).
    @Test func withTheIndexerUpEveryRecordAnswered200IsStoredOnce() throws {
        let port = try SocketClient.freePort()
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        let sink = "{ type: elasticsearch, endpoint: \"http://127.0.0.1:\(port)\", index: logs, batch: { max_events: 5000, timeout: 100ms } }"
        let sluice = try SluiceBinary.launch(["--config", config("up.yaml", sink: sink)], stdin: .null)
        let listening = try #require(sluice.listeningPort(of: "otel"))
        let statuses = try flood(listening, ["--requests", "20", "--records", "20000", "--body-bytes", "24", "--concurrency", "4"])
        let codes = statuses.compactMap { $0 as? Int }
        #expect(codes.count == 20 && codes.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
        let taken = codes.filter { $0 == 200 }.count * 20_000
        #expect(Eventually.wait(seconds: 120) { server.indexed.count >= taken }, "indexed \(server.indexed.count) of \(taken)")
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 60).exitStatus == 0)
        let summary = summary(sluice)
        #expect(summary["unaccounted"] == nil, "\(summary)")
        #expect((summary["events_in"] as? [String: Any])?["otel"] as? Int == taken, "\(summary)")
        #expect(server.indexed.count == taken && server.indexed.values.allSatisfy { $0 == 1 })
    }
}
