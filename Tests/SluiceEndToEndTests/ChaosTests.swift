import Foundation
import Glibc
import SluiceCore
import SluiceTesting
import Synchronization
import Testing

/// Faults while events flow, through the binary. Every scenario ends with the accounting
/// check: what the sources read equals, for every sink, what it delivered plus what it
/// counted as dropped, read from `/metrics` and compared with what the outputs hold.
///
/// `SLUICE_SOAK=1` stretches the timed scenarios to their long variants (a 60 s indexer
/// outage); the default runs take a few seconds each.
@Suite("chaos: outages, slow sinks, dying writers, connection storms", .timeLimit(.minutes(10)), .watchdog)
struct ChaosTests {
    let directory = TemporaryDirectory()
    static let soak = ProcessInfo.processInfo.environment["SLUICE_SOAK"] == "1"

    /// Checks `in = delivered + dropped` per sink from a `/metrics` scrape; returns the
    /// delivered and dropped counts per sink.
    @discardableResult
    static func accountingHolds(_ text: String, sources: [String], sinks: [String], file: String = #fileID, line: Int = #line) -> [String: (delivered: Int, dropped: Int)] {
        let read = sources.map { Int(HTTPGet.metric(text, #"sluice_source_events_total{source="\#($0)"}"#) ?? -1) }.reduce(0, +)
        #expect(read > 0, "no scrape of a running Sluice to account from")
        var result: [String: (Int, Int)] = [:]
        for sink in sinks {
            let delivered = Int(HTTPGet.metric(text, #"sluice_sink_events_total{sink="\#(sink)"}"#) ?? -1)
            let dropped = text.split(separator: "\n")
                .filter { $0.hasPrefix(#"sluice_sink_dropped_events_total{sink="\#(sink)","#) }
                .compactMap { Double($0.split(separator: " ").last ?? "") }
                .reduce(0, +)
            #expect(delivered + Int(dropped) == read, "sink \(sink): \(delivered) delivered + \(Int(dropped)) dropped != \(read) read")
            result[sink] = (delivered, Int(dropped))
        }
        return result
    }

    /// Scrapes `/metrics` once the sources have read `expected` events (when given) and every
    /// sink has accounted for all that was read.
    private func settledMetrics(_ port: Int, sources: [String], sinks: [String], expected: Int? = nil) -> String {
        var text = ""
        _ = Eventually.wait(seconds: 60) {
            text = (try? HTTPGet.get(port: port, path: "/metrics").body) ?? ""
            let read = sources.map { HTTPGet.metric(text, #"sluice_source_events_total{source="\#($0)"}"#) ?? -1 }.reduce(0, +)
            if let expected, Int(read) != expected { return false }
            return sinks.allSatisfy { sink in
                let delivered = HTTPGet.metric(text, #"sluice_sink_events_total{sink="\#(sink)"}"#) ?? 0
                let dropped = text.split(separator: "\n")
                    .filter { $0.hasPrefix(#"sluice_sink_dropped_events_total{sink="\#(sink)","#) }
                    .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
                return delivered + dropped == read
            }
        }
        return text
    }

    /// The indexer is unreachable (connection refused), then answers 503, then answers slowly,
    /// then recovers, while events keep coming. Under `block` every event is indexed exactly
    /// once and memory stays bounded; under `drop_newest` what is missing is exactly what the
    /// drop counters say.
    @Test(arguments: ["block", "drop_newest"])
    func anIndexerOutageLosesNothingUnaccountedAndDeliveryResumesOnItsOwn(policy: String) throws {
        let phase = Self.soak ? 20_000 : 1_500
        let port = try SocketClient.freePort()
        let config = directory.write("outage-\(policy).yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search:
                type: elasticsearch
                endpoint: "http://127.0.0.1:\(port)"
                index: logs
                when_full: \(policy)
                batch: { max_events: 500, timeout: 100ms }
                retry: { initial_backoff: 50ms, max_backoff: 500ms }
                timeout: 2s
              all: { type: blackhole }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .pipe)
        let metrics = try #require(sluice.metricsPort())
        let sent = Atomic<Int>(0)
        let writing = Atomic<Bool>(true)
        let writer = Thread {
            var next = 0
            let until = Date().addingTimeInterval(Double(phase * 4) / 1000)
            while Date() < until {
                sluice.write((next..<(next + 200)).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
                next += 200
                sent.store(next, ordering: .relaxed)
                ChildProcess.pause(milliseconds: 20)
            }
            writing.store(false, ordering: .releasing)
        }
        writer.start()
        // Refused for one phase, then a server that answers 503, then slowly, then well.
        ChildProcess.pause(milliseconds: phase)
        let mode = Mutex(0)
        let server = try FakeBulkServer(port: port) { _ in
            switch mode.withLock({ $0 }) {
            case 0: .status(503, body: #"{"error":"unavailable"}"#)
            case 1: .slowIndex(nanoseconds: 400_000_000)
            default: .index
            }
        }
        defer { server.stop() }
        ChildProcess.pause(milliseconds: phase)
        mode.withLock { $0 = 1 }
        ChildProcess.pause(milliseconds: phase)
        mode.withLock { $0 = 2 }
        #expect(Eventually.wait { !writing.load(ordering: .acquiring) })
        let text = settledMetrics(metrics, sources: ["app"], sinks: ["search", "all"], expected: sent.load(ordering: .relaxed))
        let accounts = Self.accountingHolds(text, sources: ["app"], sinks: ["search", "all"])
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == (policy == "block" ? 0 : 1), "exit 1 when events were dropped")
        let total = sent.load(ordering: .relaxed)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_in"] as? [String: Any])?["app"] as? Int == total)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        if policy == "block" {
            #expect(server.indexed.count == total)
            #expect(accounts["search"]?.dropped == 0)
        } else {
            let search = (summary["events_out"] as? [String: Any])?["search"] as? Int ?? -1
            let dropped = ((summary["dropped"] as? [String: Any])?["search"] as? [String: Any])?.values.compactMap { $0 as? Int }.reduce(0, +) ?? 0
            #expect(server.indexed.count == search)
            #expect(search + dropped == total)
            #expect(dropped > 0)
        }
        #expect(summary["peak_rss_kib"] as? Int ?? .max < 120_000)
    }

    /// A slow sink beside fast ones. Under `drop_newest` the slow one never holds the others
    /// back: the writer gets everything in while the slow sink has delivered only part, and its
    /// drops account for the rest. Under `block` it holds everything back and nothing is lost.
    @Test(arguments: ["block", "drop_newest"])
    func aSlowSinkAmongFastOnes(policy: String) throws {
        let server = try FakeBulkServer { _ in .slowIndex(nanoseconds: 100_000_000) }
        defer { server.stop() }
        let archive = directory.path + "/slow-\(policy)"
        let config = directory.write("slow-\(policy).yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks:
              slow: { type: http, url: "\(server.url)/_bulk", when_full: \(policy), batch: { max_events: 200, timeout: 50ms }, max_in_flight: 1 }
              fast: { type: blackhole }
              archive: { type: archive, path: "\(archive)/a.ndjson.gz", gzip_level: 1 }
            buffer: { max_bytes: 1MiB }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        let client = try SocketClient.tcp(port: port)
        let total = policy == "block" ? 4_000 : 100_000
        for start in stride(from: 0, to: total, by: 1000) {
            SocketClient.send(client, (start..<(start + 1000)).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
        }
        close(client)
        // Everything is in and the fast sinks have it all.
        #expect(Eventually.wait {
            let text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="fast"}"#) == Double(total)
        })
        if policy == "drop_newest" {
            let text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            let slowDelivered = HTTPGet.metric(text, #"sluice_sink_events_total{sink="slow"}"#) ?? 0
            #expect(slowDelivered < Double(total) / 2, "the slow sink held the others back")
        }
        let text = settledMetrics(metrics, sources: ["net"], sinks: ["slow", "fast", "archive"], expected: total)
        let accounts = Self.accountingHolds(text, sources: ["net"], sinks: ["slow", "fast", "archive"])
        #expect(accounts["fast"]?.delivered == total)
        #expect(accounts["archive"]?.delivered == total)
        if policy == "block" {
            #expect(accounts["slow"]?.delivered == total)
        } else {
            #expect((accounts["slow"]?.dropped ?? 0) > 0)
            #expect(HTTPGet.metric(text, #"sluice_sink_dropped_events_total{sink="slow",reason="sink_busy"}"#) ?? 0 > 0)
        }
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == (policy == "block" ? 0 : 1), "exit 1 when events were dropped")
    }

    /// A FIFO writer killed in the middle of a line: the half line is kept as an event of its
    /// own, and the next writer's lines are not glued to it.
    @Test func aFIFOWriterThatDiesMidLine() throws {
        let fifo = directory.path + "/app.fifo"
        let config = directory.write("fifo.yaml", """
            sources: { pipe: { type: fifo, path: "\(fifo)" } }
            sinks: { out: { type: console } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait { FileManager.default.fileExists(atPath: fifo) })
        let dying = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "printf 'whole line\\nhalf a li' > \"$0\"; kill -9 $$", fifo])
        #expect(dying.wait().signal == SIGKILL)
        // A FIFO has no writers of its own: the end of a writer shows only as end of file, once
        // no writer has it open. A next writer that opens it before Sluice reads that end
        // continues the same byte stream, so the test waits for the half line first.
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })
        let next = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "printf 'next writer\\n' > \"$0\"", fifo])
        #expect(next.wait().exitStatus == 0)
        #expect(Eventually.wait { sluice.standardOutputLines.count == 3 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["message"] as? String } == ["whole line", "half a li", "next writer"])
    }

    /// Slowloris: clients that send one byte at a time and never finish a line hold a
    /// connection each, but nothing more. A normal client beside them is served at once, and
    /// memory stays flat.
    @Test func slowClientsDoNotStarveOthers() throws {
        let config = directory.write("slowloris.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0", max_connections: 64, max_line_bytes: 4KiB } }
            sinks: { all: { type: blackhole } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        let slow = try (0..<40).map { _ in try SocketClient.tcp(port: port) }
        let drip = NamedThread(name: "drip") {
            for _ in 0..<30 {
                for client in slow { SocketClient.send(client, "x") }
                ChildProcess.pause(milliseconds: 50)
            }
        }
        let normal = try SocketClient.tcp(port: port)
        SocketClient.send(normal, (0..<10_000).map { "line \($0)" }.joined(separator: "\n") + "\n")
        close(normal)
        #expect(Eventually.wait(seconds: 10) {
            let text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) == 10_000
        })
        #expect(drip.join(seconds: 30), "the dripping clients' thread did not end")
        for client in slow { close(client) }
        // Each slow client's partial line becomes an event when it leaves.
        let text = settledMetrics(metrics, sources: ["net"], sinks: ["all"], expected: 10_040)
        #expect(HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) == 10_040)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        #expect((events(sluice.standardErrorLines).last?["peak_rss_kib"] as? Int ?? .max) < 80_000)
    }

    /// 10,000 clients connect, send a line and leave: every line arrives, and no descriptor
    /// leaks.
    @Test func tenThousandConnectDisconnectCyclesLeakNothing() throws {
        let config = directory.write("cycles.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks: { all: { type: blackhole } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        let descriptorsBefore = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(sluice.pid)/fd").count
        for cycle in 0..<10_000 {
            let client = try SocketClient.tcp(port: port)
            SocketClient.send(client, "cycle \(cycle)\n")
            close(client)
        }
        let text = settledMetrics(metrics, sources: ["net"], sinks: ["all"], expected: 10_000)
        #expect(HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) == 10_000)
        #expect(Eventually.wait {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(sluice.pid)/fd").count) ?? .max) <= descriptorsBefore
        })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
    }

    /// 1,000 writers on one Unix socket at once, 100 lines each: every line arrives, each
    /// writer's lines in its order.
    @Test func aThousandConcurrentUnixSocketWriters() throws {
        let path = directory.path + "/many.sock"
        let output = directory.path + "/many"
        let config = directory.write("many.yaml", """
            sources: { sock: { type: unix, path: "\(path)", max_connections: 1100 } }
            sinks: { archive: { type: archive, path: "\(output)/a.ndjson.gz", gzip_level: 1 } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait { sluice.standardError.contains("\"listening\"") })
        let metrics = try #require(sluice.metricsPort())
        let clients = try (0..<1000).map { _ in try SocketClient.unix(path: path) }
        for line in 0..<100 {
            for (writer, client) in clients.enumerated() {
                SocketClient.send(client, #"{"w":\#(writer),"i":\#(line)}"# + "\n")
            }
        }
        for client in clients { close(client) }
        let text = settledMetrics(metrics, sources: ["sock"], sinks: ["archive"], expected: 100_000)
        Self.accountingHolds(text, sources: ["sock"], sinks: ["archive"])
        #expect(HTTPGet.metric(text, #"sluice_sink_events_total{sink="archive"}"#) == 100_000)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let gzip = try ChildProcess(executable: "/bin/gzip", arguments: ["-dc", output + "/a.ndjson.gz"])
        #expect(gzip.wait().exitStatus == 0)
        var next = [Int](repeating: 0, count: 1000)
        var inOrder = true
        for event in events(gzip.standardOutputLines) {
            guard let writer = event["w"] as? Int, let line = event["i"] as? Int else { continue }
            if line != next[writer] { inOrder = false }
            next[writer] = line + 1
        }
        #expect(inOrder)
        #expect(next.allSatisfy { $0 == 100 })
    }
}
