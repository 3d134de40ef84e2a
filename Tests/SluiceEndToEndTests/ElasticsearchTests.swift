import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("elasticsearch sink, through the binary", .timeLimit(.minutes(3)), .watchdog)
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
        // A replay of the same events finds them indexed already (409): still exactly once.
        let again = try SluiceBinary.launch(
            ["--config", config()],
            environment: ["ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_API_KEY": "k3y-s3cret"],
            stdin: .file(directory.path + "/in.log")
        )
        #expect(again.wait().exitStatus == 0)
        #expect(server.indexed.count == 5000 && server.indexed.values.allSatisfy { $0 == 1 })
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

    @Test func aLiveClusterWhenOneIsConfigured() throws {
        // Opt-in: SLUICE_TEST_ELASTICSEARCH_URL=http://127.0.0.1:9200 swift test --filter aLiveCluster
        guard let url = ProcessInfo.processInfo.environment["SLUICE_TEST_ELASTICSEARCH_URL"] else { return }
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
