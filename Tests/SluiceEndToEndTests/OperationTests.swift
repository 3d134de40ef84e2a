import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("operation: metrics, health, readiness, shutdown under load", .timeLimit(.minutes(10)), .watchdog)
struct OperationTests {
    let directory = TemporaryDirectory()

    @Test func metricsCountWhatWasReadDeliveredAndDropped() throws {
        let config = directory.write("m.yaml", """
            sources:
              net: { type: tcp, address: "127.0.0.1:0" }
            sinks:
              all: { type: blackhole }
              errors: { type: blackhole, where: 'level >= error' }
              alerts:
                type: alert
                rules: [{ name: burst, when: 'level >= error', threshold: 2, window: 1m }]
                notifiers: {}
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        #expect(try HTTPGet.get(port: metrics, path: "/healthz").status == 200)
        #expect(Eventually.wait { (try? HTTPGet.get(port: metrics, path: "/readyz").status) == 200 })
        let client = try SocketClient.tcp(port: port)
        SocketClient.send(client, (0..<100).map { #"{"level":"\#($0 % 10 == 0 ? "error" : "info")","n":\#($0)}"# }.joined(separator: "\n") + "\n")
        SocketClient.send(client, "bad \u{FFFF}\n")
        close(client)
        var text = ""
        #expect(Eventually.wait {
            text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            // Each sink reads the ring at its own pace: wait for the slowest.
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) == 101
                && HTTPGet.metric(text, #"sluice_sink_events_total{sink="alerts"}"#) == 101
                && HTTPGet.metric(text, #"sluice_sink_events_total{sink="errors"}"#) == 10
        })
        #expect(HTTPGet.metric(text, #"sluice_source_events_total{source="net"}"#) == 101)
        #expect(HTTPGet.metric(text, #"sluice_sink_events_total{sink="errors"}"#) == 10)
        #expect(HTTPGet.metric(text, #"sluice_alert_matches_total{sink="alerts",rule="burst"}"#) == 10)
        #expect(HTTPGet.metric(text, #"sluice_alert_notifications_total{sink="alerts",rule="burst"}"#) == 5)
        #expect(HTTPGet.metric(text, #"sluice_sink_dropped_events_total{sink="all",reason="sink_error"}"#) == 0)
        #expect(HTTPGet.metric(text, "sluice_ring_slots") == 16)
        #expect(HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_count{sink="all"}"#) == 101)
        #expect(HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_bucket{sink="all",le="+Inf"}"#) == 101)
        #expect(text.contains("# TYPE sluice_sink_delivery_latency_seconds histogram"))
        #expect((HTTPGet.metric(text, "process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect(text.contains("# TYPE sluice_sink_events_total counter"))
        #expect(try HTTPGet.get(port: metrics, path: "/nothing").status == 404)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
    }

    /// What `/metrics` serves passes Prometheus's own linter (`promtool check metrics`: types,
    /// help, counter names, units), with a sample of each kind of component: a listening and a
    /// piped source, a transform, an archive behind a disk buffer, alerts.
    @Test(.requires("promtool")) func metricsPassPromtoolsLint() throws {
        let config = directory.write("lint.yaml", """
            sources:
              net: { type: tcp, address: "127.0.0.1:0" }
              app: { type: stdin }
            transforms:
              scrub: { inputs: [app, net], steps: [{ set: { team: core } }] }
            sinks:
              archive: { type: archive, inputs: [scrub], path: "\(directory.path)/lint/a-%Y%m%dT%H%M%S.ndjson.gz", buffer: { type: disk, max_bytes: 64MiB } }
              alerts:
                type: alert
                inputs: [scrub]
                rules: [{ name: burst, when: 'level >= error', threshold: 2, window: 1m }]
                notifiers: {}
            data_dir: "\(directory.path)/lint-data"
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write(#"{"level":"error","msg":"one"}"# + "\n")
        let metrics = try #require(sluice.metricsPort())
        var text = ""
        #expect(Eventually.wait {
            text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="archive"}"#) == 1
        })
        let lint = try ChildProcess(executable: try #require(ExternalTool.path("promtool")), arguments: ["check", "metrics"], stdin: .file(directory.write("metrics.txt", text)))
        let outcome = lint.wait(seconds: 60)
        #expect(outcome.exitStatus == 0, "promtool check metrics: \(lint.standardOutput) \(lint.standardError)")
        sluice.closeStdin()
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
    }

    /// The delivery latency histogram counts each event from its read to its acknowledgement:
    /// an indexer that answers after 400 ms puts every event between 0.25 s and 1 s.
    @Test func deliveryLatencyIsMeasuredFromReadToAcknowledgement() throws {
        let indexer = try FakeBulkServer { _ in .slowIndex(nanoseconds: 400_000_000) }
        defer { indexer.stop() }
        let config = directory.write("latency.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search: { type: elasticsearch, endpoint: "\(indexer.url)", index: logs, batch: { max_events: 100, timeout: 50ms } }
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        let metrics = try #require(sluice.metricsPort())
        sluice.write((0..<10).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
        var text = ""
        #expect(Eventually.wait(seconds: 20) {
            text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_count{sink="search"}"#) == 10
        }, "\(text.split(separator: "\n").filter { $0.contains("latency") })")
        #expect(HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_bucket{sink="search",le="0.25"}"#) == 0)
        #expect(HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_bucket{sink="search",le="1"}"#) == 10)
        #expect((HTTPGet.metric(text, #"sluice_sink_delivery_latency_seconds_sum{sink="search"}"#) ?? 0) >= 4.0)
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
    }

    @Test func readinessNamesASinkThatKeepsFailing() throws {
        let config = directory.write("r.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search: { type: http, url: "http://127.0.0.1:1/ingest", batch: { timeout: 50ms }, timeout: 200ms,
                        retry: { initial_backoff: 50ms, max_backoff: 100ms } }
            metrics: { unhealthy_after: 300ms }
            shutdown: { grace_period: 200ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write("one event\n")
        let metrics = try #require(sluice.metricsPort())
        var answer = (status: 0, body: "")
        #expect(Eventually.wait {
            answer = (try? HTTPGet.get(port: metrics, path: "/readyz")) ?? (0, "")
            return answer.status == 503
        })
        #expect(answer.body.contains("sink search failing for"))
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 1, "what the failing sink held was dropped at the stop: exit 1")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(((summary["dropped"] as? [String: Any])?["search"] as? [String: Any])?["shutdown"] as? Int == 1)
    }

    /// `/api/health` follows a destination that fails and recovers: the sink `retrying` from
    /// its first failure, `failing` past `unhealthy_after` (the whole `failing` and 503, as
    /// every sink is), `delivering` and `ok` once the destination answers. `/healthz` stays 200
    /// throughout (a destination that is down is no reason to restart the pod) but never says
    /// `ok` while every sink fails. The admin API asks for the token; the probes do not.
    @Test func healthFollowsADestinationThatFailsAndRecovers() throws {
        let port = try SocketClient.freePort()
        let config = directory.write("h.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search: { type: http, url: "http://127.0.0.1:\(port)/ingest", batch: { timeout: 50ms }, timeout: 200ms,
                        retry: { initial_backoff: 50ms, max_backoff: 100ms } }
            metrics: { unhealthy_after: 1s, token: "${ADMIN_TOKEN}" }
            shutdown: { grace_period: 5s }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], environment: ["ADMIN_TOKEN": "s3cret-\(getpid())"])
        let metrics = try #require(sluice.metricsPort())
        let bearer = ["Authorization": "Bearer s3cret-\(getpid())"]
        func health() -> [String: Any] {
            guard let answer = try? HTTPGet.get(port: metrics, path: "/api/health", headers: bearer),
                  var object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] else { return [:] }
            object["http_status"] = answer.status
            return object
        }
        func search(_ report: [String: Any]) -> [String: Any] {
            ((report["sinks"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == "search" } ?? [:]
        }
        #expect(try HTTPGet.get(port: metrics, path: "/api/health").status == 401)
        #expect(try HTTPGet.get(port: metrics, path: "/api/health", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(Eventually.wait { health()["status"] as? String == "ok" })
        #expect(search(health())["state"] as? String == "delivering")

        sluice.write("one event\n")
        var report: [String: Any] = [:]
        #expect(Eventually.wait(seconds: 10) { report = health(); return search(report)["state"] as? String == "retrying" })
        #expect(report["status"] as? String == "ok" && report["http_status"] as? Int == 200, "\(report)")
        #expect((search(report)["last_error"] as? String ?? "").contains("refused"), "\(report)")
        #expect(search(report)["since"] is String)
        #expect(Eventually.wait(seconds: 10) { report = health(); return search(report)["state"] as? String == "failing" })
        #expect(report["status"] as? String == "failing" && report["http_status"] as? Int == 503, "\(report)")
        let liveness = try HTTPGet.get(port: metrics, path: "/healthz")
        #expect(liveness.status == 200)
        #expect(liveness.body.hasPrefix("failing\n") && liveness.body.contains("warning: sink search failing for"), "\(liveness.body)")
        #expect(try HTTPGet.get(port: metrics, path: "/readyz").status == 503)

        let destination = try HTTPTestServer(port: port) { _ in .init(status: 200, body: "{}") }
        defer { destination.stop() }
        #expect(Eventually.wait(seconds: 10) { report = health(); return search(report)["state"] as? String == "delivering" })
        #expect(report["status"] as? String == "ok" && report["http_status"] as? Int == 200, "\(report)")
        #expect(search(report)["events"] as? Int == 1 && search(report)["since"] == nil, "\(report)")
        #expect(try HTTPGet.get(port: metrics, path: "/healthz").body == "ok\n")
        #expect(try HTTPGet.get(port: metrics, path: "/readyz").status == 200)
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
    }

    @Test func sigtermUnderLoadLosesNothingThatWasRead() throws {
        let archive = directory.path + "/out"
        let config = directory.write("load.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks:
              archive: { type: archive, path: "\(archive)/a.ndjson.gz", gzip_level: 1 }
              all: { type: blackhole }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let client = try SocketClient.tcp(port: port)
        let line = String(repeating: "x", count: 100)
        for _ in 0..<200 { SocketClient.send(client, String(repeating: line + "\n", count: 500)) }
        // SIGTERM while the client is still connected: Sluice reads on until it closes.
        sluice.send(SIGTERM)
        SocketClient.send(client, "the last line\n")
        close(client)
        #expect(sluice.wait().exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_in"] as? [String: Any])?["net"] as? Int == 100_001)
        #expect((summary["events_out"] as? [String: Any])?["archive"] as? Int == 100_001)
        #expect((summary["events_out"] as? [String: Any])?["all"] as? Int == 100_001)
        let verify = try SluiceBinary.launch(["archive", "verify", archive + "/a.ndjson.gz"], stdin: .null)
        #expect(verify.wait().exitStatus == 0)
        #expect(verify.standardOutput.contains("100001 events"))
    }
}
