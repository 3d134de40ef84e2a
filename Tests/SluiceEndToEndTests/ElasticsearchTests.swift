import Foundation
import Glibc
import SluiceTesting
import Synchronization
import Testing

@Suite("elasticsearch sink, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct ElasticsearchTests {
    let directory = TemporaryDirectory()

    private func config(_ extra: String = "") -> String {
        directory.write("es.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search:
                type: elasticsearch
                endpoint: "${ELASTICSEARCH_URL}"
                index: "logs-{source}-%Y.%m.%d"
                api_key: "${ELASTICSEARCH_API_KEY}"
                batch: { max_events: 1000, timeout: 200ms }
                dead_letter: { path: "\(directory.path)/dead.ndjson" }
            \(extra)
            """)
    }

    @Test func eventsAreIndexedOnceWithTheKeyAndTheIndexFromTheirTime() throws {
        let server = try FakeBulkServer()
        let input = (0..<5000).map { #"{"ts":"2024-06-0\#($0 % 2 + 1)T12:00:00Z","n":\#($0)}"# }.joined(separator: "\n") + "\n"
        let sluice = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k3y-s3cret"],
            stdin: .file(directory.write("in.log", input))
        )
        #expect(sluice.wait().exitStatus == 0)
        #expect(server.indexed.count == 5000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let indices = Set(server.requests.flatMap { $0.items.map(\.index) })
        #expect(indices == ["logs-app-2024.06.01", "logs-app-2024.06.02"])
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["search"] as? Int == 5000)
        #expect(sluice.standardError.contains("search cluster reachable"))
        #expect(!sluice.standardError.contains("k3y-s3cret"))
        // The same lines fed to Sluice again are new events, accepted again: indexed again.
        let again = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k3y-s3cret"],
            stdin: .file(directory.path + "/in.log")
        )
        #expect(again.wait().exitStatus == 0)
        #expect(server.indexed.count == 10_000 && server.indexed.values.allSatisfy { $0 == 1 })
    }

    /// Byte-identical lines are distinct events: each is its own document, even when they land
    /// in different bulk requests (10,000 copies of one line, and 10 lines repeated 1,000 times,
    /// through requests of 500).
    @Test(arguments: [1, 10])
    func identicalLinesAreEachIndexed(distinctLines: Int) throws {
        let server = try FakeBulkServer()
        let input = (0..<10_000).map { #"{"ts":"2024-06-01T12:00:00Z","msg":"health check \#($0 % distinctLines)"}"# }.joined(separator: "\n") + "\n"
        let sluice = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k", "SLUICE_SINKS_SEARCH_BATCH_MAX_EVENTS": "500"],
            stdin: .file(directory.write("same-\(distinctLines).log", input))
        )
        #expect(sluice.wait().exitStatus == 0)
        #expect(server.requests.count >= 20)
        #expect(server.indexed.count == 10_000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["message"] as? String == "stopped; every event delivered")
        #expect((summary["events_out"] as? [String: Any])?["search"] as? Int == 10_000)
    }

    /// A request answered 503 is sent again with the same ids: every event is stored once.
    @Test func aRetriedRequestKeepsItsIds() throws {
        let first = Atomic<Bool>(true)
        let server = try FakeBulkServer { _ in
            first.exchange(false, ordering: .relaxed) ? .status(503, body: #"{"error":"unavailable"}"#) : .index
        }
        let input = String(repeating: #"{"ts":"2024-06-01T12:00:00Z","msg":"health check"}"# + "\n", count: 10_000)
        let sluice = try SluiceBinary.launch(
            ["--config", config("    retry: { initial_backoff: 50ms }")],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k", "SLUICE_SINKS_SEARCH_BATCH_MAX_EVENTS": "500"],
            stdin: .file(directory.write("retried.log", input))
        )
        #expect(sluice.wait().exitStatus == 0)
        let requests = server.requests
        #expect(requests.count >= 21)
        #expect(server.indexed.count == 10_000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let refused = Set(requests.first?.items.map(\.id) ?? [])
        #expect(refused.count == 500 && refused.isSubset(of: Set(server.indexed.keys)), "the refused request's ids were indexed on its retry")
    }

    /// A 409 means a document with the event's id exists already: it may be Sluice's own earlier
    /// write whose answer was lost, or someone else's document; the two cannot be told apart,
    /// so it is counted as `already_present`, not as delivered.
    @Test func aConflictIsCountedAsAlreadyPresentNotAsDelivered() throws {
        let server = try FakeBulkServer { request in .items(request.items.indices.map { $0 < 10 ? 409 : 201 }) }
        let input = (0..<100).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n"
        let sluice = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k"],
            stdin: .file(directory.write("conflicts.log", input))
        )
        #expect(sluice.wait().exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["search"] as? Int == 90)
        #expect(((summary["dropped"] as? [String: Any])?["search"] as? [String: Any])?["already_present"] as? Int == 10)
    }

    /// A whole request the server refuses for good is dead-lettered with the status and reason
    /// the server gave.
    @Test func aRejectedRequestIsDeadLetteredWithTheServersStatus() throws {
        let server = try FakeBulkServer { _ in .status(404, body: #"{"error":{"type":"index_not_found_exception"},"status":404}"#) }
        let sluice = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k"],
            stdin: .file(directory.write("rejected.log", #"{"n":1}"# + "\n" + #"{"n":2}"# + "\n"))
        )
        #expect(sluice.wait().exitStatus == 1, "a dead-lettered event was not delivered: exit 1")
        let letters = try String(contentsOfFile: directory.path + "/dead.ndjson", encoding: .utf8).split(separator: "\n")
        #expect(letters.count == 2)
        let letter = try JSONSerialization.jsonObject(with: Data(letters[0].utf8)) as? [String: Any]
        #expect(letter?["status"] as? Int == 404)
        #expect((letter?["reason"] as? String)?.contains("index_not_found_exception") == true)
    }

    @Test func validateRedactsTheKeyAndChecksTheEndpoint() throws {
        let valid = try SluiceBinary.launch(["validate", "--config", config()], environment: ["ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_API_KEY": "k3y-s3cret"], stdin: .null)
        #expect(valid.wait().exitStatus == 0)
        #expect(valid.standardOutput.contains("api_key: <redacted>"))
        #expect(!valid.standardOutput.contains("k3y-s3cret"))
        let invalid = try SluiceBinary.launch(["validate", "--config", config()], environment: ["ELASTICSEARCH_URL": "https://user:pw@es:9200", "ELASTICSEARCH_API_KEY": "x"], stdin: .null)
        #expect(invalid.wait().exitStatus == 78)
        #expect(invalid.standardError.contains("sinks.search.endpoint: put credentials in api_key"))
    }

    /// Opt-in: `SLUICE_TEST_ELASTICSEARCH_URL=http://127.0.0.1:9200 swift test --filter aLiveCluster`.
    @Test(.enabled(
        if: ProcessInfo.processInfo.environment["SLUICE_TEST_ELASTICSEARCH_URL"] != nil,
        "no live cluster: set SLUICE_TEST_ELASTICSEARCH_URL to run this test against one"
    ))
    func aLiveClusterWhenOneIsConfigured() throws {
        let url = try #require(ProcessInfo.processInfo.environment["SLUICE_TEST_ELASTICSEARCH_URL"])
        let index = "sluice-test-\(Int(Date().timeIntervalSince1970))"
        let file = directory.write("live.yaml", """
            sources: { app: { type: stdin } }
            sinks: { search: { type: elasticsearch, endpoint: "\(url)", index: "\(index)", batch: { timeout: 100ms } } }
            """)
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .file(directory.write("live.log", (0..<100).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")))
        #expect(sluice.wait().exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["search"] as? Int == 100)
    }
}
