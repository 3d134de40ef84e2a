import Foundation
import Glibc
import SluiceTesting
import Testing

/// The Grafana dashboard (`Config/deploy/grafana/sluice.json`) and the Prometheus alerting rules
/// (`Config/deploy/prometheus/`) against a running binary: every metric their PromQL names is
/// one Sluice serves, the rules pass `promtool check rules`, and their unit tests pass
/// `promtool test rules`.
@Suite("dashboard and alerting rules", .timeLimit(.minutes(10)), .watchdog)
struct DashboardTests {
    static let root = String(#filePath.split(separator: "/Tests/").first ?? "")
    static let dashboard = root + "/Config/deploy/grafana/sluice.json"
    static let rules = root + "/Config/deploy/prometheus/sluice-alerts.yaml"
    static let ruleTests = root + "/Config/deploy/prometheus/sluice-alerts.test.yaml"
    let directory = TemporaryDirectory()

    /// The metric names a PromQL text uses.
    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /\b(?:sluice|process)_[a-z0-9_]+/).map { String($0.output) })
    }

    /// The expressions of the dashboard's panels.
    static func dashboardExpressions() throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dashboard))) as? [String: Any]
        let panels = object?["panels"] as? [[String: Any]] ?? []
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    /// What a Sluice with one component of each kind the dashboard shows serves at `/metrics`:
    /// the metric names (from the `# TYPE` lines).
    private func servedMetricNames() throws -> Set<String> {
        let log = directory.write("app.log", #"{"level":"error","msg":"from a file"}"# + "\n")
        let config = directory.write("all.yaml", """
            sources:
              app: { type: stdin }
              files: { type: file, include: ["\(log)"], start_at: beginning }
              net: { type: tcp, address: "127.0.0.1:0" }
            transforms:
              scrub: { inputs: [app, files, net], steps: [{ where: 'level >= info' }] }
            sinks:
              archive:
                type: archive
                inputs: [scrub]
                path: "\(directory.path)/archive/a-%Y%m%dT%H%M%S.ndjson.gz"
                buffer: { type: disk, max_bytes: 64MiB }
              alerts:
                type: alert
                inputs: [scrub]
                rules: [{ name: burst, when: 'level >= error', threshold: 2, window: 1m }]
                notifiers: {}
            data_dir: "\(directory.path)/data"
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        defer {
            sluice.closeStdin()
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        sluice.write(#"{"level":"error","msg":"from stdin"}"# + "\n")
        let port = try #require(sluice.metricsPort())
        var text = ""
        #expect(Eventually.wait {
            text = (try? HTTPGet.get(port: port, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="archive"}"#) == 2
        }, "the archive got both events: \(text.suffix(1500))")
        // A histogram's family is queried through its `_bucket`, `_sum` and `_count` series.
        return Set(text.split(separator: "\n").flatMap { line -> [String] in
            let parts = line.split(separator: " ")
            guard line.hasPrefix("# TYPE "), parts.count == 4 else { return [] }
            let name = String(parts[2])
            return parts[3] == "histogram" ? [name, name + "_bucket", name + "_sum", name + "_count"] : [name]
        })
    }

    @Test func everyMetricTheDashboardAndTheRulesUseIsServed() throws {
        let expressions = try Self.dashboardExpressions()
        #expect(expressions.count >= 12, "the dashboard's panels: \(expressions.count) queries")
        #expect(expressions.contains { $0.contains("sluice_sink_delivery_latency_seconds_bucket") })
        let used = Self.metricNames(in: expressions.joined(separator: "\n"))
            .union(Self.metricNames(in: try String(contentsOfFile: Self.rules, encoding: .utf8)))
        #expect(used.count >= 15, "\(used.sorted())")
        let served = try servedMetricNames()
        let unknown = used.subtracting(served)
        #expect(unknown.isEmpty, "named by the dashboard or the rules but not served: \(unknown.sorted())")
    }

    @Test(.requires("promtool")) func theRulesPassPromtoolsCheckAndTheirUnitTests() throws {
        let promtool = try #require(ExternalTool.path("promtool"))
        let check = try ChildProcess(executable: promtool, arguments: ["check", "rules", Self.rules])
        #expect(check.wait(seconds: 60).exitStatus == 0, "\(check.standardOutput) \(check.standardError)")
        let unitTests = try ChildProcess(executable: promtool, arguments: ["test", "rules", Self.ruleTests])
        #expect(unitTests.wait(seconds: 60).exitStatus == 0, "\(unitTests.standardOutput) \(unitTests.standardError)")
        #expect(unitTests.standardOutput.contains("SUCCESS"))
    }
}
