import Foundation
import SluiceTesting
import Testing

/// The `otlp` source against the official OpenTelemetry SDK and its OTLP exporter, hostile
/// bodies, and the round trip `otlp` in → `otlp` out decoded by the official classes; and the
/// fan-in of two sidecars into a central Sluice that restarts mid-stream.
@Suite("otlp source and fan-in", .timeLimit(.minutes(10)), .watchdog)
struct OTLPSourceTests {
    static let root = OTLPSinkTests.root
    let directory = TemporaryDirectory()

    private var python: String { OpenTelemetryPython.path(repository: Self.root) }

    @Test(.requiresOpenTelemetryPython(repository: root), arguments: ["gzip", "none"])
    func theOfficialSDKsRecordsArriveAndGoOutAgainWithEveryField(compression: String) throws {
        let receiver = try OTLPSinkTests.Receiver(directory: directory)
        let config = directory.write("in-out.yaml", """
            sources: { otel: { type: otlp, address: "127.0.0.1:0", labels: { team: payments } } }
            sinks:
              console: { type: console }
              forward: { type: otlp, endpoint: "http://127.0.0.1:\(receiver.port)", batch: { timeout: 100ms } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "otel"))
        let sender = try ChildProcess(
            executable: python, arguments: [Self.root + "/Tests/Peers/otlp_sdk_sender.py", "http://127.0.0.1:\(port)/v1/logs", "20", compression]
        )
        #expect(sender.wait(seconds: 60).exitStatus == 0, "the SDK's exporter: \(sender.standardOutput)\(sender.standardError)")
        #expect(Eventually.wait { receiver.requests.flatMap(Self.records).count == 20 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)

        let output = events(sluice.standardOutputLines)
        try #require(output.count == 20, "\(sluice.standardOutput)")
        for (index, event) in output.enumerated() {
            #expect(event["message"] as? String == "order \(index) placed")
            #expect(event["level"] as? String == (index % 2 == 1 ? "WARN" : "INFO"))
            #expect(event["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(event["n"] as? Int == index)
            #expect(event["otel.scope.name"] as? String == "shop.orders")
            #expect((event["resource"] as? [String: Any])?["service.name"] as? String == "checkout")
            #expect(event["team"] as? String == "payments")
        }
        // Out again through the `otlp` sink: every field the SDK sent is there, as the SDK sent it.
        let forwarded = receiver.requests.flatMap(Self.records)
        for (resource, record) in forwarded {
            #expect(resource["service.name"] as? String == "checkout")
            #expect(resource["service.version"] as? String == "1.4.2")
            #expect(resource["telemetry.sdk.name"] as? String == "opentelemetry")
            #expect(record["traceId"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(record["spanId"] as? String == "00f067aa0ba902b7")
            #expect(record["flags"] as? Int == 1)
            let attributes = record["attributes"] as? [String: Any] ?? [:]
            #expect(attributes["ratio"] as? [String: Double] == ["double": 0.5])
            #expect(attributes["ok"] as? Bool == true)
            #expect(attributes["tags"] as? [String] == ["a", "b"])
            #expect(attributes["user.id"] as? String == "u1")
        }
        let bodies = Set(forwarded.compactMap { $0.1["body"] as? String })
        #expect(bodies == Set((0..<20).map { "order \($0) placed" }))
        #expect(Set(forwarded.compactMap { $0.1["severityNumber"] as? Int }) == [9, 13])
    }

    /// OTLP/JSON from one Sluice's `otlp` sink to another's `otlp` source: every field and type
    /// comes through.
    @Test func otlpJSONFromOneSluiceToAnother() throws {
        let central = directory.write("json-central.yaml", """
            sources: { otel: { type: otlp, address: "127.0.0.1:0" } }
            sinks: { console: { type: console } }
            """)
        let receiving = try SluiceBinary.launch(["--config", central], stdin: .null)
        let port = try #require(receiving.listeningPort(of: "otel"))
        let sidecar = directory.write("json-sidecar.yaml", """
            sources: { app: { type: stdin, labels: { service: checkout } } }
            sinks: { central: { type: otlp, endpoint: "http://127.0.0.1:\(port)", encoding: json, compression: none } }
            """)
        let line = #"{"ts":"2026-12-01T10:00:00.123Z","level":"error","msg":"boom","n":42,"ratio":0.5,"ok":false,"tags":["a",{"b":null}],"ctx":{"deep":{"x":-7}},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","esc":"tab\there \"q\" é"}"#
        let sending = try SluiceBinary.launch(["--config", sidecar], stdin: .file(directory.write("json.log", line + "\n")))
        #expect(sending.wait().exitStatus == 0, "\(sending.standardError)")
        #expect(Eventually.wait { !receiving.standardOutputLines.isEmpty })
        receiving.send(SIGTERM)
        #expect(receiving.wait().exitStatus == 0)
        let event = try #require(events(receiving.standardOutputLines).first)
        #expect(event["message"] as? String == "boom")
        #expect(event["level"] as? String == "error")
        #expect(event["@timestamp"] as? String == "2026-12-01T10:00:00.123000000Z")
        #expect(event["n"] as? Int == 42 && event["ratio"] as? Double == 0.5 && event["ok"] as? Bool == false)
        #expect(NSArray(array: event["tags"] as? [Any] ?? []) == NSArray(array: ["a", ["b": NSNull()]]))
        #expect(((event["ctx"] as? [String: Any])?["deep"] as? [String: Any])?["x"] as? Int == -7)
        #expect(event["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736" && event["span_id"] as? String == "00f067aa0ba902b7")
        #expect(event["esc"] as? String == "tab\there \"q\" é")
        #expect(event["ts"] as? String == "2026-12-01T10:00:00.123Z")
        let resource = event["resource"] as? [String: Any] ?? [:]
        #expect(resource["service.name"] as? String == "checkout" && resource["sluice.source"] as? String == "app", "\(resource)")
    }

    /// HTTPS and a bearer token between two Sluices: with the CA and the token, delivered; without
    /// the token, 401, which OTLP says not to retry: rejected, counted, exit 1.
    @Test(.requires("openssl")) func httpsAndABearerTokenBetweenTwoSluices() throws {
        let certificate = try TestCertificate(in: directory.path)
        let central = directory.write("tls-central.yaml", """
            sources:
              otel:
                type: otlp
                address: "127.0.0.1:0"
                bearer_token: "${CENTRAL_TOKEN}"
                tls: { certificate_file: "\(certificate.certificatePath)", key_file: "\(certificate.keyPath)" }
            sinks: { console: { type: console } }
            """)
        let receiving = try SluiceBinary.launch(["--config", central], environment: ["CENTRAL_TOKEN": "s3cret-t0ken"], stdin: .null)
        let port = try #require(receiving.listeningPort(of: "otel"))
        func send(_ message: String, token: String) throws -> (process: ChildProcess, status: Int32?) {
            let sidecar = directory.write("tls-\(message).yaml", """
                sources: { app: { type: stdin } }
                sinks:
                  central:
                    type: otlp
                    endpoint: "https://127.0.0.1:\(port)"
                    headers: { authorization: "Bearer \(token)" }
                    tls: { ca_file: "\(certificate.certificatePath)" }
                """)
            let sending = try SluiceBinary.launch(["--config", sidecar], stdin: .file(directory.write("\(message).log", #"{"msg":"\#(message)"}"# + "\n")))
            return (sending, sending.wait().exitStatus)
        }
        let good = try send("over https", token: "s3cret-t0ken")
        #expect(good.status == 0, "\(good.process.standardError)")
        let bad = try send("no token", token: "wrong")
        #expect(bad.status == 1)
        let dropped = ((events(bad.process.standardErrorLines).last?["dropped"] as? [String: Any])?["central"] as? [String: Any])?["rejected"] as? Int
        #expect(dropped == 1, "\(bad.process.standardError.suffix(1500))")
        #expect(Eventually.wait { receiving.standardOutput.contains("over https") })
        receiving.send(SIGTERM)
        #expect(receiving.wait().exitStatus == 0)
        #expect(!receiving.standardOutput.contains("no token"))
        #expect(!receiving.standardError.contains("s3cret-t0ken"))
    }

    /// Each hostile body gets its status, memory stays bounded, and a valid request after all
    /// of them is served.
    @Test(.requiresOpenTelemetryPython(repository: root))
    func hostileBodiesGetTheirStatusAndSluiceKeepsServing() throws {
        let config = directory.write("hostile.yaml", """
            sources: { otel: { type: otlp, address: "127.0.0.1:0", max_body: 8MiB } }
            sinks: { console: { type: console } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "otel"))
        let client = try ChildProcess(executable: python, arguments: [Self.root + "/Tests/Peers/otlp_hostile_client.py", "\(port)"])
        #expect(client.wait(seconds: 120).exitStatus == 0, "\(client.standardError)")
        let statuses = try #require(try JSONSerialization.jsonObject(with: Data(client.standardOutput.utf8)) as? [String: Any])
        let expected: [String: Int] = [
            "truncated": 400, "wrong_wire_type": 400, "nested_100_deep": 400, "declared_1_gib": 400, "invalid_utf8": 400,
            "gzip_bomb": 413, "over_max_body": 413, "not_json": 400, "text_plain": 415, "brotli": 415, "get": 405,
            // Before: a body of zeros was answered 200, and a gzip transfer coding was read as
            // if it were not there.
            "all_zero_1_mib": 400, "gzip_chunked_transfer": 501, "chunked_transfer": 200,
            "traces_path": 404, "valid_after_all_that": 200,
        ]
        for (name, status) in expected {
            #expect(statuses[name] as? Int == status, "\(name): \(statuses[name] ?? "none")")
        }
        #expect(Eventually.wait { sluice.standardOutput.contains("still serving") })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["peak_rss_kib"] as? Int ?? .max < 128 * 1024, "a 64 MiB gzip bomb must not be expanded: \(summary)")
    }

    /// Two sidecars ship over `otlp` with disk buffers to a central Sluice, which is stopped in
    /// the middle of the stream and started again: every line reaches it.
    @Test(.requiresOpenTelemetryPython(repository: root))
    func fanInLosesNothingWhenTheCentralSluiceRestarts() throws {
        let port = try SocketClient.freePort()
        let central = directory.write("central.yaml", """
            sources: { otel: { type: otlp, address: "127.0.0.1:\(port)" } }
            sinks: { console: { type: console } }
            """)
        func sidecar(_ name: String) -> String {
            directory.write("\(name).yaml", """
                data_dir: "\(directory.path)/\(name)-data"
                sources: { app: { type: stdin, labels: { service: \(name) } } }
                sinks:
                  central:
                    type: otlp
                    endpoint: "http://127.0.0.1:\(port)"
                    batch: { max_events: 500, timeout: 50ms }
                    retry: { initial_backoff: 50ms, max_backoff: 300ms }
                    buffer: { type: disk, max_bytes: 64MiB }
                shutdown: { grace_period: 30s }
                """)
        }
        let lines = { (name: String, range: Range<Int>) in range.map { #"{"msg":"\#(name) \#($0)","n":\#($0)}"# }.joined(separator: "\n") + "\n" }
        let first = try SluiceBinary.launch(["--config", central], stdin: .null)
        #expect(first.listeningPort(of: "otel") == port)
        let sidecars = try ["web", "worker"].map { try SluiceBinary.launch(["--config", sidecar($0)]) }
        for (name, sidecar) in zip(["web", "worker"], sidecars) { sidecar.write(lines(name, 0..<20_000)) }
        #expect(Eventually.wait(seconds: 60) { first.standardOutputLines.count >= 10_000 })
        first.send(SIGTERM)
        #expect(first.wait().exitStatus == 0)
        // The central Sluice is down: the sidecars keep reading into their buffers.
        for (name, sidecar) in zip(["web", "worker"], sidecars) { sidecar.write(lines(name, 20_000..<40_000)) }
        ChildProcess.pause(milliseconds: 500)
        let second = try SluiceBinary.launch(["--config", central], stdin: .null)
        #expect(second.listeningPort(of: "otel") == port)
        for sidecar in sidecars { sidecar.closeStdin() }
        for sidecar in sidecars {
            #expect(sidecar.wait(seconds: 90).exitStatus == 0, "\(sidecar.standardError.suffix(2000))")
            #expect(events(sidecar.standardErrorLines).last?["message"] as? String == "stopped; every event delivered")
        }
        second.send(SIGTERM)
        #expect(second.wait().exitStatus == 0)
        let received = events(first.standardOutputLines + second.standardOutputLines).compactMap { $0["message"] as? String }
        let expected = Set(["web", "worker"].flatMap { name in (0..<40_000).map { "\(name) \($0)" } })
        #expect(Set(received) == expected, "missing \(expected.subtracting(received).count) of \(expected.count)")
        // At least once: a request the first central Sluice took as it stopped may come twice.
        #expect(received.count - expected.count < 2_000, "\(received.count - expected.count) duplicates")
    }

    /// The (resource, record) pairs of decoded requests.
    private static func records(_ request: [String: Any]) -> [([String: Any], [String: Any])] {
        (request["resourceLogs"] as? [[String: Any]] ?? []).flatMap { group in
            (group["records"] as? [[String: Any]] ?? []).map { (group["resource"] as? [String: Any] ?? [:], $0) }
        }
    }
}
