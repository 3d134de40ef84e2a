import Foundation
import SluiceTesting
import Testing

/// The `otlp` sink against a receiver built on the official OpenTelemetry protobuf classes
/// (`Tests/Peers/otlp_receiver.py`, in the `.build/otel-venv` that `.ci/setup --tests` makes):
/// what it decodes is what the mapping promises, in protobuf and OTLP/JSON, gzipped or not.
@Suite("otlp sink, decoded by the official OpenTelemetry classes", .timeLimit(.minutes(10)), .watchdog)
struct OTLPSinkTests {
    static let root = String(#filePath.split(separator: "/Tests/").first ?? "")
    let directory = TemporaryDirectory()

    /// A running receiver: its port, and the requests it decoded so far.
    final class Receiver {
        let process: ChildProcess
        let output: String
        let port: Int

        init(directory: TemporaryDirectory, plan: [String] = []) throws {
            let output = directory.path + "/received-\(UUID().uuidString).ndjson"
            let process = try ChildProcess(
                executable: OpenTelemetryPython.path(repository: OTLPSinkTests.root),
                arguments: [OTLPSinkTests.root + "/Tests/Peers/otlp_receiver.py", output] + plan
            )
            let started = Eventually.wait(seconds: 30) { process.standardOutput.contains("\n") }
            #expect(started, "the receiver did not start: \(process.standardError)")
            self.output = output
            self.process = process
            port = Int(process.standardOutput.split(separator: "\n").first ?? "") ?? 0
        }

        var requests: [[String: Any]] {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        deinit {
            process.send(SIGTERM)
            _ = process.wait(seconds: 5)
        }
    }

    private static let lines = [
        #"{"ts":"2026-12-01T10:00:00.123Z","level":"WARN","msg":"disk 91% full","n":42,"ratio":0.5,"ok":true,"none":null,"tags":["a",1,{"b":false}],"ctx":{"user":"u1","deep":{"x":-7}},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","big":12345678901234567890,"esc":"line\nnext \"q\" \u00e9 \ud83d\ude00"}"#,
        "plain text line",
        #"{"message":"with parent","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","stream_name":"x"}"#,
    ]

    @Test(.requiresOpenTelemetryPython(repository: root), arguments: ["protobuf", "json"], ["gzip", "none"])
    func everyMappedFieldArrivesAsTheOfficialDecoderReadsIt(encoding: String, compression: String) throws {
        let receiver = try Receiver(directory: directory)
        let config = directory.write("otlp.yaml", """
            sources:
              app: { type: stdin, labels: { service: checkout, env: prod, team: payments } }
              worker: { type: exec, command: [/bin/sh, -c, "echo worker line"], labels: { service: worker } }
            sinks:
              otel:
                type: otlp
                endpoint: "http://127.0.0.1:\(receiver.port)"
                encoding: \(encoding)
                compression: \(compression)
                headers: { authorization: "Bearer ${OTLP_TOKEN}" }
                resource: { cloud.region: eu-west-1 }
                batch: { max_events: 1000, timeout: 5s }
            """)
        let sluice = try SluiceBinary.launch(
            ["--config", config], environment: ["OTLP_TOKEN": "t0ken-s3cret"],
            stdin: .file(directory.write("in.log", Self.lines.joined(separator: "\n") + "\n"))
        )
        #expect(sluice.wait().exitStatus == 0, "\(sluice.standardError)")
        #expect(!sluice.standardError.contains("t0ken-s3cret"))
        let requests = receiver.requests
        #expect(requests.allSatisfy { $0["error"] == nil }, "the official decoder failed: \(requests)")
        #expect(requests.allSatisfy { $0["path"] as? String == "/v1/logs" && $0["authorization"] as? String == "Bearer t0ken-s3cret" })
        #expect(requests.allSatisfy { $0["gzip"] as? Bool == (compression == "gzip") })
        #expect(requests.allSatisfy { $0["contentType"] as? String == (encoding == "json" ? "application/json" : "application/x-protobuf") })
        // One ResourceLogs per resource in each request, never one per record.
        for request in requests {
            let resources = (request["resourceLogs"] as? [[String: Any]] ?? []).map { NSDictionary(dictionary: $0["resource"] as? [String: Any] ?? [:]) }
            #expect(Set(resources).count == resources.count, "a resource repeated in one request: \(resources)")
        }
        let groups = requests.flatMap { $0["resourceLogs"] as? [[String: Any]] ?? [] }
        let records = groups.flatMap { group in (group["records"] as? [[String: Any]] ?? []).map { (group["resource"] as? [String: Any] ?? [:], $0) } }
        try #require(records.count == 4, "\(requests)")

        let (appResource, warning) = try #require(records.first { ($0.1["body"] as? String) == "disk 91% full" })
        #expect(NSDictionary(dictionary: appResource) == NSDictionary(dictionary: [
            "cloud.region": "eu-west-1", "host.name": try #require(events(sluice.standardErrorLines).first?["host"] as? String ?? hostName()),
            "sluice.source": "app", "service.name": "checkout", "deployment.environment.name": "prod", "team": "payments",
        ]))
        #expect(warning["time"] as? Int == 1_796_119_200_123_000_000)
        #expect(warning["observed"] as? Int ?? 0 > 1_700_000_000_000_000_000, "when the sink encoded it: now")
        #expect(warning["severityNumber"] as? Int == 13)
        #expect(warning["severityText"] as? String == "WARN")
        #expect(warning["traceId"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(warning["spanId"] as? String == "00f067aa0ba902b7")
        #expect(warning["scope"] as? String == "sluice")
        let attributes = try #require(warning["attributes"] as? [String: Any])
        #expect(NSDictionary(dictionary: attributes) == NSDictionary(dictionary: [
            "ts": "2026-12-01T10:00:00.123Z", "n": ["int": 42], "ratio": ["double": 0.5], "ok": true, "none": NSNull(),
            "tags": ["a", ["int": 1], ["b": false]], "ctx": ["user": "u1", "deep": ["x": ["int": -7]]],
            "big": ["double": 12345678901234567890.0], "esc": "line\nnext \"q\" é 😀",
        ]), "\(attributes)")

        let (_, plain) = try #require(records.first { ($0.1["body"] as? String) == "plain text line" })
        #expect(plain["severityNumber"] as? Int == 0)
        #expect((plain["attributes"] as? [String: Any])?.isEmpty == true, "\(plain)")

        let (_, parented) = try #require(records.first { ($0.1["body"] as? String) == "with parent" })
        #expect(parented["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(parented["spanId"] as? String == "b7ad6b7169203331")
        #expect(parented["flags"] as? Int == 1)
        #expect(NSDictionary(dictionary: parented["attributes"] as? [String: Any] ?? [:]) == NSDictionary(dictionary: ["stream_name": "x"]))

        let (workerResource, worker) = try #require(records.first { ($0.1["body"] as? String) == "worker line" })
        #expect(workerResource["service.name"] as? String == "worker")
        #expect(workerResource["sluice.source"] as? String == "worker")
        #expect((worker["attributes"] as? [String: Any])?["log.iostream"] as? String == "stdout")
    }

    /// Only 429, 502, 503 and 504 are retried, after the server's `Retry-After`; a 500 is
    /// rejected for good (dead-lettered); a partial success counts what it rejected.
    @Test(.requiresOpenTelemetryPython(repository: root))
    func retriesOnlyWhatTheSpecificationSays() throws {
        let receiver = try Receiver(directory: directory, plan: ["503:retry-after=1", "200", "500", "partial=1"])
        let config = directory.write("retry.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              otel:
                type: otlp
                endpoint: "http://127.0.0.1:\(receiver.port)/v1/logs"
                batch: { max_events: 1, timeout: 50ms }
                max_in_flight: 1
                retry: { initial_backoff: 10ms, max_backoff: 20ms }
                dead_letter: { path: "\(directory.path)/dead.ndjson" }
            """)
        let input = ["first", "second", "third"].map { #"{"msg":"\#($0)"}"# }.joined(separator: "\n") + "\n"
        let started = ChildProcess.nowSeconds()
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", input)))
        #expect(sluice.wait().exitStatus == 1, "events were rejected: exit 1")
        let elapsed = ChildProcess.nowSeconds() - started
        let requests = receiver.requests
        let bodies = requests.map { (($0["resourceLogs"] as? [[String: Any]])?.first?["records"] as? [[String: Any]])?.first?["body"] as? String ?? "?" }
        #expect(bodies == ["first", "first", "second", "third"], "the 500 and the partial success are not retried: \(bodies)")
        // The backoff here is 10 to 20 ms: only the server's Retry-After explains a second.
        #expect(elapsed >= 1.0, "Retry-After: 1 was not honoured (\(elapsed) s)")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["otel"] as? Int == 1, "\(summary)")
        let dropped = (summary["dropped"] as? [String: Any])?["otel"] as? [String: Any]
        #expect(dropped?["dead_lettered"] as? Int == 1 && dropped?["rejected"] as? Int == 1, "\(summary)")
        #expect(try String(contentsOfFile: directory.path + "/dead.ndjson", encoding: .utf8).contains("second"))
        #expect(sluice.standardError.contains("2 records had no body"))
    }

    private func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
