import Foundation
import Glibc
import SluiceTesting
import Testing

/// Disk buffers through the binary: an outage that neither holds the app back nor loses an
/// event, a SIGKILL and a restart, damage, a full disk, the size cap, one Sluice per data_dir.
@Suite("disk buffers, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct DiskBufferTests {
    let directory = TemporaryDirectory()

    /// stdin into an indexer behind a disk buffer, the indexer at `port`.
    private func config(
        _ name: String, port: Int, dataDirectory: String? = nil, buffer: String = "{ type: disk, max_bytes: 256MiB }", whenFull: String = "block",
        gracePeriod: String = "2s"
    ) -> String {
        directory.write(name, """
            data_dir: "\(dataDirectory ?? directory.path + "/data")"
            sources: { app: { type: stdin } }
            sinks:
              search:
                type: elasticsearch
                endpoint: "http://127.0.0.1:\(port)"
                index: logs
                batch: { max_events: 2000, timeout: 100ms }
                retry: { initial_backoff: 50ms, max_backoff: 500ms }
                buffer: \(buffer)
                when_full: \(whenFull)
            shutdown: { grace_period: \(gracePeriod) }
            """)
    }

    private func lines(_ range: Range<Int>) -> String {
        range.map { #"{"n":\#($0),"msg":"request \#($0) done","pad":"\#(String(repeating: "x", count: 40))"}"# }.joined(separator: "\n") + "\n"
    }

    private func metric(_ sluice: ChildProcess, _ name: String) -> Double? {
        guard let port = sluice.metricsPort() else { return nil }
        return HTTPGet.metric((try? HTTPGet.get(port: port, path: "/metrics").body) ?? "", name)
    }

    private func summary(_ sluice: ChildProcess) -> [String: Any] {
        events(sluice.standardErrorLines).last ?? [:]
    }

    private func numbersIndexed(_ server: FakeBulkServer) -> Set<Int> {
        Set(server.requests.flatMap { $0.items.compactMap { ($0.source["n"] as? String).flatMap(Int.init) } })
    }

    /// 1. The indexer refuses connections while 500,000 lines are written: the writer is never
    /// held back (it finishes with the indexer still down), memory stays bounded, and once the
    /// indexer is back every line is stored exactly once.
    @Test func anOutageNeitherHoldsTheAppBackNorLosesAnEvent() throws {
        let port = try SocketClient.freePort()
        let sluice = try SluiceBinary.launch(["--config", config("outage.yaml", port: port)], stdin: .pipe)
        let total = 500_000
        for start in stride(from: 0, to: total, by: 50_000) { sluice.write(lines(start..<(start + 50_000))) }
        // Every line is in: the writer did not wait for the indexer.
        #expect(Eventually.wait(seconds: 60) { metric(sluice, #"sluice_source_events_total{source="app"}"#) == Double(total) })
        #expect(metric(sluice, #"sluice_sink_events_total{sink="search"}"#) == 0, "the indexer was down")
        #expect(Eventually.wait { metric(sluice, #"sluice_buffer_events{sink="search"}"#) == Double(total) })
        let readiness = try HTTPGet.get(port: try #require(sluice.metricsPort()), path: "/readyz")
        #expect(readiness.status == 200, "an outage a disk buffer absorbs is no reason to be unready: \(readiness.body)")
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        #expect(Eventually.wait(seconds: 120) { server.indexed.count == total }, "indexed \(server.indexed.count) of \(total)")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let summary = summary(sluice)
        #expect(summary["message"] as? String == "stopped; every event delivered", "\(summary)")
        #expect(summary["peak_rss_kib"] as? Int ?? .max < 64 * 1024, "peak RSS \(summary["peak_rss_kib"] ?? "?") KiB")
    }

    /// A pipe job behind a disk buffer ends too when the indexer stays down: after the grace
    /// period what is undelivered waits on disk, Sluice says so and exits 0.
    @Test func aPipeEndsDuringAnOutageLeavingTheRestOnDisk() throws {
        let port = try SocketClient.freePort()
        let file = config("pipe-outage.yaml", port: port)
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .file(directory.write("in.log", lines(0..<1_000))))
        #expect(sluice.wait(seconds: 30).exitStatus == 0)
        let summary = summary(sluice)
        #expect(summary["message"] as? String == "stopped; undelivered events wait on disk for the next start", "\(summary)")
        #expect((summary["waiting_on_disk"] as? [String: Any])?["search"] as? Int == 1_000, "\(summary)")
    }

    /// 2. With `sync: always`, every event counted as buffered before a SIGKILL is stored after a
    /// restart, exactly once (ids travel with the records).
    @Test func whatWasBufferedSurvivesSIGKILLAndIsStoredOnceAfterARestart() throws {
        let port = try SocketClient.freePort()
        let file = config("kill.yaml", port: port, buffer: "{ type: disk, max_bytes: 256MiB, sync: always }")
        let first = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        first.write(lines(0..<60_000))
        #expect(Eventually.wait(seconds: 60) { metric(first, #"sluice_buffer_events{sink="search"}"#) == 60_000 })
        first.send(SIGKILL)
        _ = first.wait()
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        // Its stdin stays open: at the end of its input Sluice would deliver for the grace period
        // (2 s) and leave the rest on disk, and the debug build on a busy machine took longer.
        let second = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        #expect(Eventually.wait(seconds: 60) { server.indexed.count == 60_000 }, "indexed \(server.indexed.count)")
        second.send(SIGTERM)
        #expect(second.wait().exitStatus == 0)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        #expect(numbersIndexed(server) == Set(0..<60_000))
        #expect(second.standardError.contains("disk buffer holds events from before; delivering them first"))
    }

    /// 3. Bytes flipped inside a segment, a segment of zeros, the newest segment cut mid-record,
    /// the position file gone: `sluice buffer inspect` names each damage and exits 1; Sluice
    /// starts, quarantines and counts, and delivers every intact record.
    @Test func damageIsNamedQuarantinedCountedAndSteppedOver() throws {
        let port = try SocketClient.freePort()
        let file = config("damage.yaml", port: port, buffer: "{ type: disk, max_bytes: 64MiB }")
        let filling = try SluiceBinary.launch(["--config", file], stdin: .file(directory.write("in.log", lines(0..<100_000))))
        #expect(Eventually.wait(seconds: 60) { metric(filling, #"sluice_buffer_events{sink="search"}"#) == 100_000 })
        filling.send(SIGTERM)
        #expect(filling.wait().exitStatus == 0)
        #expect(summary(filling)["message"] as? String == "stopped; undelivered events wait on disk for the next start")

        let buffer = directory.path + "/data/buffers/search"
        let segments = try FileManager.default.contentsOfDirectory(atPath: buffer).filter { $0.hasSuffix(".segment") }.sorted().map { buffer + "/" + $0 }
        try #require(segments.count >= 4, "segments: \(segments)")
        let size = { (path: String) in (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let flip = try FileHandle(forWritingTo: URL(fileURLWithPath: segments[0]))
        try flip.seek(toOffset: UInt64(size(segments[0]) / 2))
        flip.write(Data([0xDE, 0xAD, 0xBE, 0xEF]))
        try flip.close()
        try Data(count: size(segments[1])).write(to: URL(fileURLWithPath: segments[1]))
        let last = try #require(segments.last)
        #expect(truncate(last, off_t(size(last) - 1000)) == 0)
        try FileManager.default.removeItem(atPath: buffer + "/position")

        let inspect = try SluiceBinary.launch(["buffer", "inspect", "--config", file], stdin: .null)
        #expect(inspect.wait().exitStatus == 1)
        for damaged in [segments[0], segments[1], last, buffer + "/position"] {
            #expect(inspect.standardError.contains(damaged), "inspect did not name \(damaged): \(inspect.standardError)")
        }
        let intact = Int(inspect.standardOutput.split(separator: " ").dropFirst().first ?? "") ?? -1
        #expect(intact > 50_000 && intact < 100_000, "\(inspect.standardOutput)")

        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        // stdin stays open: in pipe mode Sluice would exit once the buffer is drained.
        let delivering = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        #expect(Eventually.wait(seconds: 60) { server.indexed.count == intact }, "indexed \(server.indexed.count) of \(intact) intact")
        let lost = ["checksum", "torn_tail", "position"].map { metric(delivering, #"sluice_buffer_records_lost_total{sink="search",reason="\#($0)"}"#) ?? 0 }
        #expect(lost.allSatisfy { $0 > 0 }, "lost by reason: \(lost)")
        delivering.closeStdin()
        #expect(delivering.wait().exitStatus == 0)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        #expect(numbersIndexed(server).isSubset(of: Set(0..<100_000)))
        #expect(try !FileManager.default.contentsOfDirectory(atPath: buffer + "/quarantine").isEmpty)
    }

    /// 4. A really full disk (a 6 MiB tmpfs) under each `when_full`: `block` holds the writer and
    /// loses nothing once the indexer frees space; `drop_newest` refuses and counts; `drop_oldest`
    /// deletes its oldest segment and counts. The error names the path and errno once.
    @Test(.requiresSmallDisk, arguments: ["block", "drop_newest", "drop_oldest"])
    func aFullDiskIsHandledByTheSinksPolicy(policy: String) throws {
        let disk = try SmallDisk(path: directory.path + "/disk-\(policy)", bytes: 6 << 20)
        let port = try SocketClient.freePort()
        // The indexer comes up only after the input has ended: the grace period (what a pipe's
        // sinks get after its end) must outlast the delivery of what waits.
        let file = config(
            "full-\(policy).yaml", port: port, dataDirectory: disk.path, buffer: "{ type: disk, max_bytes: 64MiB }", whenFull: policy,
            gracePeriod: "60s"
        )
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        let total = 200_000  // about 20 MB of events: more than the disk holds
        let writer = Thread {
            for start in stride(from: 0, to: total, by: 10_000) { sluice.write(lines(start..<(start + 10_000))) }
            sluice.closeStdin()
        }
        writer.start()
        #expect(Eventually.wait(seconds: 60) { sluice.standardError.contains("No space left on device") })
        let read = { metric(sluice, #"sluice_source_events_total{source="app"}"#) ?? 0 }
        if policy == "block" {
            ChildProcess.pause(milliseconds: 1000)
            #expect(read() < Double(total), "a full disk under block holds the sources back")
        } else {
            #expect(Eventually.wait(seconds: 60) { read() == Double(total) }, "a drop policy never holds the sources back")
        }
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        #expect(sluice.wait(seconds: 120).exitStatus == (policy == "block" ? 0 : 1), "exit 1 when events were dropped")
        let summary = summary(sluice)
        let dropped = (summary["dropped"] as? [String: Any])?["search"] as? [String: Any] ?? [:]
        let delivered = (summary["events_out"] as? [String: Any])?["search"] as? Int ?? -1
        let failures = events(sluice.standardErrorLines).filter { $0["message"] as? String == "disk buffer write failed; keeping what it holds" }
        #expect(!failures.isEmpty && failures.allSatisfy { ($0["error"] as? String)?.contains(disk.path) == true && ($0["error"] as? String)?.contains("errno 28") == true })
        switch policy {
        case "block":
            #expect(delivered == total && dropped.isEmpty, "\(summary)")
        case "drop_newest":
            #expect((dropped["buffer_full"] as? Int ?? 0) > 0 && delivered + (dropped["buffer_full"] as? Int ?? 0) == total, "\(summary)")
        default:
            #expect((dropped["buffer_overrun"] as? Int ?? 0) > 0, "\(summary)")
            #expect(delivered + dropped.values.compactMap { $0 as? Int }.reduce(0, +) == total, "\(summary)")
        }
        #expect(server.indexed.count == delivered && server.indexed.values.allSatisfy { $0 == 1 })
    }

    /// 5. Over a long outage `max_bytes` holds within one segment, and the oldest go first under
    /// `drop_oldest`, counted.
    @Test func maxBytesIsHonouredWithinOneSegment() throws {
        let port = try SocketClient.freePort()
        let file = config("cap.yaml", port: port, buffer: "{ type: disk, max_bytes: 16MiB }", whenFull: "drop_oldest")
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        let buffer = directory.path + "/data/buffers/search"
        var largest = 0
        for start in stride(from: 0, to: 400_000, by: 20_000) {
            sluice.write(lines(start..<(start + 20_000)))
            let files = (try? FileManager.default.contentsOfDirectory(atPath: buffer)) ?? []
            let bytes = files.filter { $0.hasSuffix(".segment") }.compactMap {
                try? FileManager.default.attributesOfItem(atPath: buffer + "/" + $0)[.size] as? Int
            }.reduce(0, +)
            largest = max(largest, bytes)
        }
        #expect(Eventually.wait(seconds: 60) { metric(sluice, #"sluice_source_events_total{source="app"}"#) == 400_000 })
        let overrun = { metric(sluice, #"sluice_sink_dropped_events_total{sink="search",reason="buffer_overrun"}"#) ?? 0 }
        let waiting = { metric(sluice, #"sluice_buffer_events{sink="search"}"#) ?? 0 }
        // Read is not yet appended: the ring reader may be a batch or two behind.
        #expect(Eventually.wait { overrun() + waiting() == 400_000 }, "overrun \(overrun()) + waiting \(waiting())")
        #expect(overrun() > 0)
        #expect(largest <= (16 + 1) << 20, "the buffer reached \(largest) bytes on disk")
        #expect((metric(sluice, #"sluice_buffer_bytes{sink="search"}"#) ?? .infinity) <= Double(16 << 20))
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 1, "the cap dropped events: exit 1")
    }

    /// 6. A second Sluice on the same data_dir refuses to start, naming the first one's PID.
    @Test func aSecondSluiceOnTheSameDataDirRefusesToStart() throws {
        let port = try SocketClient.freePort()
        let file = config("two.yaml", port: port)
        let first = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        #expect(Eventually.wait { first.standardError.contains("\"started\"") })
        let second = try SluiceBinary.launch(["--config", file], stdin: .null)
        #expect(second.wait().exitStatus == 1)
        #expect(second.standardError.contains("in use by another Sluice (PID \(first.pid))"), "\(second.standardError)")
        first.closeStdin()
        first.send(SIGTERM)
        #expect(first.wait().exitStatus == 0)
    }

    /// 7. The indexer's address is wrong and 100,000 events wait on disk, some of them in
    /// requests being retried; a SIGHUP with the right address delivers every one of them through
    /// the new endpoint, the retried ones included (the old version gives them back to the
    /// buffer), and the end of stdin then ends Sluice with everything delivered.
    @Test func aReloadThatFixesTheEndpointDeliversWhatTheOldOneWasRetrying() throws {
        let wrongPort = try SocketClient.freePort()
        let file = config("fix.yaml", port: wrongPort)
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        let total = 100_000
        sluice.write(lines(0..<total))
        #expect(Eventually.wait(seconds: 60) { metric(sluice, #"sluice_buffer_events{sink="search"}"#) == Double(total) })
        #expect(Eventually.wait { (metric(sluice, #"sluice_sink_retries_total{sink="search"}"#) ?? 0) > 0 }, "nothing was retried")

        let server = try FakeBulkServer(port: try SocketClient.freePort())
        defer { server.stop() }
        _ = config("fix.yaml", port: server.port)
        sluice.send(SIGHUP)
        #expect(Eventually.wait(seconds: 60) { numbersIndexed(server).count == total }, "indexed \(numbersIndexed(server).count) of \(total)")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let summary = summary(sluice)
        #expect(summary["message"] as? String == "stopped; every event delivered", "\(summary)")
        #expect(summary["waiting_on_disk"] == nil, "\(summary)")
    }

    /// 8. SIGTERM during an outage: the sink goes on trying for the grace period (the indexer may
    /// come back), then stops; every event is `waiting_on_disk` and stored once after the next
    /// start. The stop is bounded by the grace period, not by the outage.
    @Test func sigtermDuringAnOutageTriesForTheGracePeriodAndTheNextStartDeliversEverything() throws {
        // Held, so the outage is a refusal for the whole first run (a released port once went to
        // a concurrent test's silent listener, and the stop waited out a request's timeout).
        let (reserved, port) = try SocketClient.refusingPort()
        let file = config("term.yaml", port: port, gracePeriod: "3s")
        let first = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        let total = 50_000
        first.write(lines(0..<total))
        #expect(Eventually.wait(seconds: 60) { metric(first, #"sluice_buffer_events{sink="search"}"#) == Double(total) })
        #expect(Eventually.wait { (metric(first, #"sluice_sink_retries_total{sink="search"}"#) ?? 0) > 0 }, "nothing was retried")
        let signalled = Date()
        first.send(SIGTERM)
        first.closeStdin()  // the app ends too, as in a stopping container: the sources are done
        #expect(first.wait().exitStatus == 0)
        let stopping = Date().timeIntervalSince(signalled)
        #expect(stopping >= 2.5 && stopping < 12, "stopping took \(stopping) s: the grace period is 3 s (and 2 s more for a stuck sink)")
        let waiting = (summary(first)["waiting_on_disk"] as? [String: Any])?["search"] as? Int
        #expect(waiting == total, "\(summary(first))")

        close(reserved)
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        let second = try SluiceBinary.launch(["--config", file], stdin: .null)
        #expect(Eventually.wait(seconds: 60) { numbersIndexed(server).count == total }, "indexed \(numbersIndexed(server).count)")
        second.send(SIGTERM)
        #expect(second.wait().exitStatus == 0)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
    }

    /// SIGTERM with the indexer up and a backlog on disk: the grace period is used to deliver it
    /// (before, the sink stopped once its ring reader had appended everything and left the
    /// backlog on disk, where an emptyDir loses it).
    @Test func sigtermDeliversTheBacklogWithinTheGracePeriod() throws {
        let (reserved, port) = try SocketClient.refusingPort()
        let file = config("term-up.yaml", port: port, gracePeriod: "60s")
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        let total = 20_000
        sluice.write(lines(0..<total))
        #expect(Eventually.wait(seconds: 60) { metric(sluice, #"sluice_buffer_events{sink="search"}"#) == Double(total) })
        close(reserved)
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        sluice.send(SIGTERM)
        sluice.closeStdin()
        #expect(sluice.wait(seconds: 90).exitStatus == 0)
        let indexed = numbersIndexed(server)
        #expect(indexed == Set(0..<total), "indexed \(indexed.count) of \(total)")
        let summary = summary(sluice)
        #expect(summary["message"] as? String == "stopped; every event delivered", "\(summary)")
        #expect(summary["waiting_on_disk"] == nil, "\(summary)")
    }

    /// Wrap mode with the indexer up the whole time: when the app ends, the sink delivers what
    /// its buffer holds within the grace period, exactly as a pipe does at stdin's end (before,
    /// three runs of 300 events left 300, 85 and 124 on disk and said so with exit 0), and the
    /// app's status is kept.
    @Test func wrapModeDeliversEveryBufferedEventWhenTheAppEnds() throws {
        let port = try SocketClient.freePort()
        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        let file = config("wrap.yaml", port: port, gracePeriod: "30s")
        let input = directory.write("wrap-in.log", lines(0..<300))
        for run in 0..<3 {
            let sluice = try SluiceBinary.launch(["--config", file, "--", "/bin/sh", "-c", "cat \(input); exit 3"], stdin: .null)
            #expect(sluice.wait(seconds: 60).exitStatus == 3, "the app's status")
            let summary = summary(sluice)
            #expect(summary["message"] as? String == "stopped; every event delivered", "run \(run): \(summary)")
            #expect(summary["waiting_on_disk"] == nil, "run \(run): \(summary)")
        }
        // Each run is a stream of its own: 900 documents, each stored once.
        #expect(server.indexed.count == 900 && server.indexed.values.allSatisfy { $0 == 1 }, "indexed \(server.indexed.count)")
        #expect(numbersIndexed(server).count == 300)
    }
}
