import Foundation
import SluiceNATS
import SluiceSync
import SluiceTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `nats` sink and source through the binary, against real `nats-server`s: one server, a
/// three-node JetStream cluster that loses its stream leader, a reading Sluice killed with
/// SIGKILL, and the official Python client on the other end.
@Suite("nats sink and source", .timeLimit(.minutes(10)), .watchdog)
struct NATSTests {
    static let root = String(#filePath.split(separator: "/Tests/").first ?? "")
    let directory = TemporaryDirectory()

    private func jetStream(_ server: NATSServerProcess) throws -> (NATSConnection, JetStream) {
        let connection = try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port), options: .init())
        return (connection, JetStream(connection, timeoutNanoseconds: 10_000_000_000))
    }

    /// Creates the stream, retrying while a cluster elects its meta leader.
    private func addStream(_ jetStream: JetStream, replicas: Int = 1) throws {
        let deadline = ChildProcess.nowSeconds() + 30
        while true {
            do {
                try jetStream.addStream(["name": "LOGS", "subjects": ["logs.>"], "num_replicas": replicas, "storage": "file", "duplicate_window": 120_000_000_000])
                return
            } catch where ChildProcess.nowSeconds() < deadline {
                ChildProcess.pause(milliseconds: 200)
            }
        }
    }

    private func sidecarConfig(_ name: String, servers: [String], extra: String = "") -> String {
        directory.write("\(name).yaml", """
            sources: { app: { type: stdin, format: json, labels: { service: \(name) } } }
            sinks:
              bus:
                type: nats
                servers: [\(servers.map { "\"\($0)\"" }.joined(separator: ", "))]
                subject: "logs.{service}"
                jetstream: { stream: LOGS }
                ack_timeout: 1s
                retry: { initial_backoff: 50ms, max_backoff: 500ms }
            \(extra)
            shutdown: { grace_period: 60s }
            """)
    }

    private func centralConfig(servers: [String], sink: String) -> String {
        directory.write("central.yaml", """
            sources:
              bus:
                type: nats
                servers: [\(servers.map { "\"\($0)\"" }.joined(separator: ", "))]
                jetstream: { stream: LOGS, consumer: central, filter: "logs.>", ack_wait: 2s, max_ack_pending: \(Self.maxAckPending) }
                batch: 5
            sinks:
            \(sink)
            shutdown: { grace_period: 20s }
            """)
    }

    /// The central consumer's unacknowledged messages at most: what a killed reader can leave
    /// to be delivered again (a sidecar's message holds up to 1,000 events).
    static let maxAckPending = 10

    private static func lines(_ name: String, _ range: Range<Int>) -> String {
        range.map { #"{"msg":"\#(name) \#($0)","n":\#($0)}"# }.joined(separator: "\n") + "\n"
    }

    /// Stdin → `nats` sink → JetStream → `nats` source → console: every event once (so the
    /// stream holds each once), with the fields the sidecar gave it; a second reading Sluice on
    /// the same consumer gets nothing again.
    @Test(.requiresNATSServer(repository: root))
    func eventsCrossAStreamWholeAndOnce() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let (connection, jetStream) = try jetStream(server)
        defer { connection.close() }
        try addStream(jetStream)
        let sidecar = try SluiceBinary.launch(["--config", sidecarConfig("web", servers: [server.url])], stdin: .file(directory.write("in.ndjson", Self.lines("web", 0..<20_000))))
        #expect(sidecar.wait(seconds: 120).exitStatus == 0, "\(sidecar.standardError.suffix(2000))")
        #expect(events(sidecar.standardErrorLines).last?["message"] as? String == "stopped; every event delivered")

        let central = centralConfig(servers: [server.url], sink: "  out: { type: console }")
        let reader = try SluiceBinary.launch(["--config", central], stdin: .null)
        #expect(Eventually.wait(seconds: 120) { reader.standardOutputLines.count >= 20_000 })
        reader.send(SIGTERM)
        #expect(reader.wait().exitStatus == 0)
        let received = events(reader.standardOutputLines)
        #expect(received.count == 20_000)
        #expect(Set(received.compactMap { $0["n"] as? Int }) == Set(0..<20_000))
        #expect(received.allSatisfy { $0["service"] as? String == "web" && $0["source"] as? String == "app" && $0["@timestamp"] != nil })
        let again = try SluiceBinary.launch(["--config", central], stdin: .null)
        ChildProcess.pause(milliseconds: 1500)
        again.send(SIGTERM)
        #expect(again.wait().exitStatus == 0)
        #expect(again.standardOutputLines.isEmpty, "acknowledged messages came again: \(again.standardOutputLines.prefix(3))")
    }

    /// 100,000 events from two sidecars into a three-node cluster (stream `LOGS`, 3 replicas,
    /// `sync_interval: always`) and out through a central Sluice into an archive behind a disk
    /// buffer. The stream's leader is killed mid-way and started again, and the central Sluice is
    /// killed with SIGKILL once: every event reaches the archive, the stream holds each once
    /// (the sidecars' retries were removed by its duplicate window), and the only events
    /// archived twice are those the killed Sluice had not acknowledged.
    @Test(.requiresNATSServer(repository: root))
    func aClusterLosingItsLeaderAndAKilledReaderLoseNothing() throws {
        let clusterPorts = try (0..<3).map { _ in try SocketClient.freePort() }
        let nodes = try (0..<3).map {
            try NATSServerProcess(repository: Self.root, directory: directory.path, name: "n\($0 + 1)", clusterPorts: clusterPorts, clusterPort: clusterPorts[$0])
        }
        let urls = nodes.map(\.url)
        /// A JetStream call through any node that is up.
        func call<Result>(_ body: (JetStream) throws -> Result) throws -> Result {
            var lastError: (any Error)?
            for node in nodes {
                do {
                    let (connection, jetStream) = try jetStream(node)
                    defer { connection.close() }
                    return try body(jetStream)
                } catch {
                    lastError = error
                }
            }
            throw lastError!
        }
        try call { try addStream($0, replicas: 3) }
        let sidecars = try ["web", "worker"].map { try SluiceBinary.launch(["--config", sidecarConfig($0, servers: urls)]) }
        let central = centralConfig(servers: urls, sink: """
              archive:
                type: archive
                path: "\(directory.path)/archive/central-%Y%m%dT%H%M%S.ndjson.gz"
                flush_interval: 200ms
                buffer: { type: disk, max_bytes: 256MiB }
            data_dir: "\(directory.path)/central-data"
            """)
        var reader = try SluiceBinary.launch(["--config", central], stdin: .null)
        func stream() throws -> [String: Any] { try call { try $0.call("STREAM.INFO.LOGS") } }
        func consumer() throws -> [String: Any] { try call { try $0.call("CONSUMER.INFO.LOGS.central") } }

        for (name, sidecar) in zip(["web", "worker"], sidecars) { sidecar.write(Self.lines(name, 0..<20_000)) }
        func lastSequence() -> Int { ((try? stream())?["state"] as? [String: Any])?["last_seq"] as? Int ?? 0 }
        #expect(Eventually.wait(seconds: 120) { lastSequence() >= 10 })
        let leader = try #require((try stream()["cluster"] as? [String: Any])?["leader"] as? String)
        let killed = try #require(nodes.first { $0.name == leader })
        killed.kill()
        for (name, sidecar) in zip(["web", "worker"], sidecars) { sidecar.write(Self.lines(name, 20_000..<35_000)) }
        let published = lastSequence()
        #expect(Eventually.wait(seconds: 120) { ((try? consumer())?["delivered"] as? [String: Any])?["stream_seq"] as? Int ?? 0 >= published / 2 })
        reader.send(SIGKILL)
        _ = reader.wait()
        try killed.start()
        reader = try SluiceBinary.launch(["--config", central], stdin: .null)
        for (name, sidecar) in zip(["web", "worker"], sidecars) {
            sidecar.write(Self.lines(name, 35_000..<50_000))
            sidecar.closeStdin()
        }
        for sidecar in sidecars {
            #expect(sidecar.wait(seconds: 180).exitStatus == 0, "\(sidecar.standardError.suffix(2000))")
            #expect(events(sidecar.standardErrorLines).last?["message"] as? String == "stopped; every event delivered")
        }
        // The sidecars have ended, so the stream's leader holds every message. The consumer's
        // own `num_pending` is counted against its leader's replica of the stream, which may
        // lag after a leader change (it said 0 with 19,500 events still to read once), so the
        // wait is for its acknowledgement floor to reach the stream's last message.
        let finalSequence = lastSequence()
        #expect(Eventually.wait(seconds: 120) {
            guard let info = try? consumer(), let floor = (info["ack_floor"] as? [String: Any])?["stream_seq"] as? Int else { return false }
            return floor >= finalSequence && info["num_ack_pending"] as? Int == 0
        }, "the central reader did not acknowledge the stream's last message \(finalSequence)")
        reader.send(SIGTERM)
        #expect(reader.wait(seconds: 60).exitStatus == 0, "\(reader.standardError.suffix(2000))")

        // The stream holds every event once: a reader of its own reads it all.
        let audit = try SluiceBinary.launch(["--config", directory.write("audit.yaml", """
            sources:
              bus:
                type: nats
                servers: [\(urls.map { "\"\($0)\"" }.joined(separator: ", "))]
                jetstream: { stream: LOGS, consumer: audit }
            sinks: { out: { type: console } }
            """)], stdin: .null)
        #expect(Eventually.wait(seconds: 120) { audit.standardOutputLines.count >= 100_000 })
        ChildProcess.pause(milliseconds: 300)
        audit.send(SIGTERM)
        #expect(audit.wait().exitStatus == 0)
        let stored = events(audit.standardOutputLines).compactMap { event in (event["service"] as? String).map { "\($0) \(event["n"] as? Int ?? -1)" } }
        #expect(stored.count == 100_000 && Set(stored).count == 100_000, "\(stored.count) stored, \(Set(stored).count) distinct")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/archive")) ?? []).sorted().map { directory.path + "/archive/" + $0 }
        let gzip = try ChildProcess(executable: ExternalTool.path("gzip") ?? "/bin/gzip", arguments: ["-dc"] + files)
        _ = gzip.wait(seconds: 60)
        let archived = events(gzip.standardOutputLines).compactMap { event -> String? in
            guard let service = event["service"] as? String, let number = event["n"] as? Int else { return nil }
            return "\(service) \(number)"
        }
        let expected = Set(["web", "worker"].flatMap { name in (0..<50_000).map { "\(name) \($0)" } })
        let missing = expected.subtracting(archived)
        #expect(missing.isEmpty, "missing \(missing.count) of \(expected.count), such as \(missing.sorted().prefix(5))")
        let twice = archived.count - Set(archived).count
        print("nats cluster: leader \(leader) killed; reader killed once; \(archived.count) archived, \(twice) twice")
        // Events archived twice come only from the SIGKILL, at least once by design: the killed
        // reader's unacknowledged messages (at most max_ack_pending, 10 messages of up to 1,000
        // events) and what its archive had in flight (the open chunk and members being
        // compressed, not yet acknowledged to the disk buffer; acknowledged records are in the
        // position file at once). A message delivered again while the reader runs (an
        // acknowledgement lost with the stream's leader) is acknowledged again, not archived
        // twice: before that, runs here gave up to 37,388. Runs since gave 0 to 9,280.
        #expect(twice <= 30_000, "\(twice) archived twice: the stream was read again, not just its unacknowledged part")
    }

    /// A message the server delivers again while its events are still held by a sink (here:
    /// the reader was stopped past `ack_wait`, as a lost acknowledgement also makes happen) is
    /// acknowledged again, not published twice: the indexer gets each event in one request.
    @Test(.requiresNATSServer(repository: root))
    func aMessageDeliveredAgainWhileItsEventsAreHeldIsNotPublishedTwice() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let (connection, jetStream) = try jetStream(server)
        defer { connection.close() }
        try addStream(jetStream)
        let sidecar = try SluiceBinary.launch(["--config", sidecarConfig("web", servers: [server.url])], stdin: .file(directory.write("in.ndjson", Self.lines("web", 0..<2_000))))
        #expect(sidecar.wait(seconds: 120).exitStatus == 0, "\(sidecar.standardError.suffix(2000))")

        let accepting = Locked(false)
        let received = Locked([String: Int]())
        let indexer = try FakeBulkServer { bulk in
            guard accepting.withLock({ $0 }) else { return .status(503) }
            received.withLock { counts in for item in bulk.items { counts[item.id, default: 0] += 1 } }
            return .index
        }
        defer { indexer.stop() }
        let reader = try SluiceBinary.launch(["--config", directory.write("held.yaml", """
            sources:
              bus:
                type: nats
                servers: ["\(server.url)"]
                jetstream: { stream: LOGS, consumer: held, ack_wait: 1s, max_ack_pending: 10 }
                batch: 5
            sinks:
              search:
                type: elasticsearch
                endpoint: "\(indexer.url)"
                index: logs
                batch: { max_events: 500, timeout: 50ms }
                retry: { initial_backoff: 50ms, max_backoff: 100ms }
            shutdown: { grace_period: 20s }
            metrics: { address: "127.0.0.1:0" }
            """)], stdin: .null)
        #expect(Eventually.wait(seconds: 60) { indexer.requests.count >= 3 })
        reader.send(SIGSTOP)
        ChildProcess.pause(milliseconds: 2_500)
        reader.send(SIGCONT)
        ChildProcess.pause(milliseconds: 1_500)
        accepting.withLock { $0 = true }
        #expect(Eventually.wait(seconds: 60) { received.withLock { $0.count } >= 2_000 })
        ChildProcess.pause(milliseconds: 500)
        let metrics = try HTTPGet.get(port: try #require(reader.metricsPort()), path: "/metrics").body
        func metric(_ name: String) -> Int {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let redelivered = metric("sluice_nats_redelivered_total")
        #expect(redelivered > 0, "the server delivered nothing again: the test proves nothing")
        reader.send(SIGTERM)
        #expect(reader.wait(seconds: 60).exitStatus == 0, "\(reader.standardError.suffix(2000))")
        let counts = received.withLock { $0 }
        let twice = counts.values.filter { $0 > 1 }.count
        #expect(counts.count == 2_000 && twice == 0, "\(counts.count) events indexed, \(twice) sent twice; \(redelivered) messages delivered again")
    }

    /// Two Sluices sharing one durable consumer split the stream between them: together they
    /// read every event once.
    @Test(.requiresNATSServer(repository: root))
    func twoReadersSharingAConsumerSplitTheStream() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let (connection, jetStream) = try jetStream(server)
        defer { connection.close() }
        try addStream(jetStream)
        let central = centralConfig(servers: [server.url], sink: "  out: { type: console }")
        let readers = try (0..<2).map { _ in try SluiceBinary.launch(["--config", central], stdin: .null) }
        #expect(Eventually.wait(seconds: 30) { readers.allSatisfy { $0.standardError.contains("reading from NATS") } })
        let sidecar = try SluiceBinary.launch(["--config", sidecarConfig("web", servers: [server.url])], stdin: .file(directory.write("in.ndjson", Self.lines("web", 0..<10_000))))
        #expect(sidecar.wait(seconds: 120).exitStatus == 0)
        #expect(Eventually.wait(seconds: 120) { readers.reduce(0) { $0 + $1.standardOutputLines.count } >= 10_000 })
        for reader in readers {
            reader.send(SIGTERM)
            #expect(reader.wait().exitStatus == 0)
        }
        let numbers = readers.map { events($0.standardOutputLines).compactMap { $0["n"] as? Int } }
        #expect(numbers.allSatisfy { !$0.isEmpty }, "each reader got some: \(numbers.map(\.count))")
        #expect(numbers.reduce(0) { $0 + $1.count } == 10_000)
        #expect(Set(numbers.joined()) == Set(0..<10_000))
    }

    /// TLS (the server's certificate trusted through `tls.ca_file`) and a token from the
    /// environment: events are stored; without the CA file the certificate is refused, named,
    /// and nothing counts as delivered.
    @Test(.requiresNATSServer(repository: root), .requires("openssl"))
    func tlsAndATokenFromTheEnvironment() throws {
        let certificate = try TestCertificate(in: directory.path)
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path, extra: """
            tls { cert_file: "\(certificate.certificatePath)", key_file: "\(certificate.keyPath)" }
            authorization { token: "t0ken-\(getpid())" }
            """)
        var options = NATSConnection.Options()
        options.token = "t0ken-\(getpid())"
        options.caFile = certificate.certificatePath
        let connection = try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port, requiresTLS: true), options: options)
        defer { connection.close() }
        try addStream(JetStream(connection, timeoutNanoseconds: 10_000_000_000))
        let secure = "tls: { ca_file: \"\(certificate.certificatePath)\" }"
        func config(_ name: String, tls: String) -> String {
            directory.write("\(name).yaml", """
                sources: { app: { type: stdin } }
                sinks:
                  bus:
                    type: nats
                    servers: ["tls://127.0.0.1:\(server.port)"]
                    jetstream: { stream: LOGS }
                    auth: { token: "${NATS_TOKEN}" }
                    \(tls)
                shutdown: { grace_period: 3s }
                """)
        }
        let trusted = try SluiceBinary.launch(["--config", config("trusted", tls: secure)], environment: ["NATS_TOKEN": "t0ken-\(getpid())"],
                                              stdin: .file(directory.write("in.ndjson", Self.lines("web", 0..<1000))))
        #expect(trusted.wait(seconds: 60).exitStatus == 0, "\(trusted.standardError.suffix(2000))")
        #expect(events(trusted.standardErrorLines).last?["message"] as? String == "stopped; every event delivered")
        #expect(!trusted.standardError.contains("t0ken-\(getpid())"), "the token is never logged")
        let untrusted = try SluiceBinary.launch(["--config", config("untrusted", tls: "")], environment: ["NATS_TOKEN": "t0ken-\(getpid())"],
                                                stdin: .file(directory.write("in2.ndjson", Self.lines("web", 0..<10))))
        #expect(untrusted.wait(seconds: 60).exitStatus == 1, "\(untrusted.standardError.suffix(2000))")
        #expect(untrusted.standardError.contains("NATS not reachable"))
        #expect(untrusted.standardError.lowercased().contains("certificate"), "\(untrusted.standardError.suffix(1500))")
    }

    /// `sluice validate` names every mistake in a `nats` sink's and source's settings at once.
    @Test func validateNamesEveryNATSMistake() throws {
        let config = directory.write("bad.yaml", """
            sources:
              bus: { type: nats, servers: ["http://x:1"], jetstream: { consumer: "a.b" } }
            sinks:
              out:
                type: nats
                subject: "logs.*"
                jetstream: { stream: "" }
                auth: { token: abc, nkey_seed_file: /nonexistent }
                batch: { max_events: 0 }
            """)
        let validate = try SluiceBinary.launch(["validate", "--config", config], stdin: .null)
        #expect(validate.wait().exitStatus == 78)
        for problem in [
            "sources.bus.servers: \"http://x:1\" is not a NATS URL", "sources.bus.jetstream.stream: is required",
            "sources.bus.jetstream.consumer: a name has no .", "sinks.out.auth.nkey_seed_file: cannot read /nonexistent",
            "sinks.out.subject: must be a subject to publish to", "sinks.out.jetstream.stream: is required",
            "sinks.out.batch.max_events: 0 is out of range",
        ] {
            #expect(validate.standardError.contains(problem), "\(problem)")
        }
    }

    /// A stream that does not exist: the sink says so, holds the events (`block`), and delivers
    /// them once the stream is created; nothing is counted as delivered before.
    @Test(.requiresNATSServer(repository: root))
    func aMissingStreamIsNamedAndTheEventsWaitForIt() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let (connection, jetStream) = try jetStream(server)
        defer { connection.close() }
        let sidecar = try SluiceBinary.launch(["--config", sidecarConfig("api", servers: [server.url])])
        sidecar.write(Self.lines("api", 0..<100))
        #expect(Eventually.wait(seconds: 30) { sidecar.standardError.contains("the JetStream stream does not exist") })
        ChildProcess.pause(milliseconds: 500)
        #expect(sidecar.standardError.contains("no responders"))
        try addStream(jetStream)
        sidecar.closeStdin()
        #expect(sidecar.wait(seconds: 60).exitStatus == 0, "\(sidecar.standardError.suffix(2000))")
        #expect(events(sidecar.standardErrorLines).last?["message"] as? String == "stopped; every event delivered")
        let state = try #require(jetStream.streamInfo("LOGS")?["state"] as? [String: Any])
        #expect(state["messages"] as? Int ?? 0 >= 1)
    }

    /// The official Python client reads what Sluice published (subjects, the `Nats-Msg-Id`
    /// header, one NDJSON line per message), and what it publishes Sluice reads.
    @Test(.requiresNATSServer(repository: root), .requiresNATSPython(repository: root))
    func theOfficialPythonClientReadsAndWritesTheSameStream() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let (connection, jetStream) = try jetStream(server)
        defer { connection.close() }
        try addStream(jetStream)
        let sidecar = try SluiceBinary.launch(["--config", sidecarConfig("web", servers: [server.url])], stdin: .file(directory.write("in.ndjson", Self.lines("web", 0..<50))))
        #expect(sidecar.wait(seconds: 60).exitStatus == 0)
        let script = directory.write("peer.py", """
            import asyncio, json, sys, nats
            async def main():
                nc = await nats.connect(sys.argv[1])
                js = nc.jetstream()
                sub = await js.pull_subscribe("logs.web", durable="python")
                messages = await sub.fetch(50, timeout=10)
                for m in messages:
                    text = m.data.decode()
                    assert text.endswith("\\n"), repr(text[-20:])
                    for line in text.splitlines():
                        event = json.loads(line)
                        print(json.dumps({"subject": m.subject, "id": m.headers.get("Nats-Msg-Id"), "n": event["n"], "service": event["service"]}))
                    await m.ack()
                for i in range(30):
                    await js.publish("logs.python", json.dumps({"from": "python", "n": i}).encode())
                await js.publish("logs.python", b"a plain line from python")
                await nc.close()
            asyncio.run(main())
            """)
        let python = try ChildProcess(executable: NATSPython.path(repository: Self.root), arguments: [script, server.url])
        #expect(python.wait(seconds: 60).exitStatus == 0, "\(python.standardError.suffix(2000))")
        let read = events(python.standardOutputLines)
        #expect(read.count == 50)
        #expect(read.allSatisfy { $0["subject"] as? String == "logs.web" && $0["service"] as? String == "web" })
        #expect(Set(read.compactMap { $0["n"] as? Int }) == Set(0..<50))
        // One message per run of events: `<stream>-<first sequence>-<events>`.
        let ids = Set(read.compactMap { $0["id"] as? String })
        #expect(!ids.isEmpty && ids.allSatisfy { $0.range(of: "^[0-9a-f]{16}-[0-9]+-[0-9]+$", options: .regularExpression) != nil }, "\(ids.prefix(3))")
        #expect(ids.reduce(0) { $0 + Int($1.split(separator: "-")[2])! } == 50)

        let central = directory.write("python-reader.yaml", """
            sources:
              bus:
                type: nats
                servers: ["\(server.url)"]
                jetstream: { stream: LOGS, consumer: reader, filter: "logs.python" }
            sinks: { out: { type: console } }
            """)
        let reader = try SluiceBinary.launch(["--config", central], stdin: .null)
        #expect(Eventually.wait(seconds: 60) { reader.standardOutputLines.count >= 31 })
        reader.send(SIGTERM)
        #expect(reader.wait().exitStatus == 0)
        let got = events(reader.standardOutputLines)
        #expect(Set(got.compactMap { $0["n"] as? Int }) == Set(0..<30))
        #expect(got.contains { $0["message"] as? String == "a plain line from python" && $0["source"] as? String == "bus" })
    }
}
