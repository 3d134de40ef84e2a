import Foundation
import Glibc
import SluiceCore
import SluiceTesting
import Testing

@Suite("SIGHUP: reopen files and reload, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct ReloadTests {
    let directory = TemporaryDirectory()

    private func messages(_ sluice: ChildProcess) -> [String] {
        events(sluice.standardErrorLines).compactMap { $0["message"] as? String }
    }

    private func archived(_ paths: [String]) throws -> [String] {
        let gzip = try ChildProcess(executable: "/bin/gzip", arguments: ["-dc"] + paths)
        #expect(gzip.wait().exitStatus == 0)
        return gzip.standardOutputLines
    }

    /// logrotate's way: move the file away, send SIGHUP; Sluice finishes the moved file and
    /// writes a new one at the same path. Lines written throughout are all archived, once.
    @Test func aRotatedArchiveIsReopenedWithoutLosingALine() throws {
        let path = directory.path + "/out/app.ndjson.gz"
        let config = directory.write("rotate.yaml", """
            sources: { app: { type: stdin } }
            sinks: { archive: { type: archive, path: "\(path)", gzip_level: 1 } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write((0..<1000).map { #"{"n":\#($0)}"# + "\n" }.joined())
        #expect(Eventually.wait { FileManager.default.fileExists(atPath: path) })
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("files reopened") || messages(sluice).contains("configuration reloaded; files reopened") })
        sluice.write((1000..<2000).map { #"{"n":\#($0)}"# + "\n" }.joined())
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let rotated = try archived([path + ".1"])
        let current = try archived([path])
        #expect(!rotated.isEmpty && !current.isEmpty)
        let numbers = events(rotated + current).compactMap { $0["n"] as? Int }
        #expect(numbers == Array(0..<2000))
    }

    /// logrotate sends SIGHUP daily: an alert in its cooldown must not fire again because of it.
    @Test func alertCooldownsSurviveAReloadUnlessTheRuleChanges() throws {
        let file = directory.path + "/alerts.yaml"
        let rules = """
            sources: { app: { type: stdin } }
            sinks:
              alerts:
                type: alert
                notifiers: { dev: { type: console } }
                rules: [{ name: errors, when: 'level >= error', cooldown: 1h, notify: [dev] }]
            """
        _ = directory.write("alerts.yaml", rules)
        let sluice = try SluiceBinary.launch(["--config", file])
        let metrics = try #require(sluice.metricsPort())
        let fired = { messages(sluice).filter { $0 == "alert firing: errors" }.count }
        let kept = { messages(sluice).filter { $0 == "alert state kept across the reload" }.count }
        let afresh = { messages(sluice).filter { $0 == "alert rules start afresh after the reload" }.count }
        let counted = { (name: String) in
            HTTPGet.metric((try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? "", #"sluice_alert_\#(name)_total{sink="alerts",rule="errors"}"#)
        }
        sluice.write(#"{"level":"error","n":1}"# + "\n")
        #expect(Eventually.wait { fired() == 1 })

        // An unchanged file: the sink is kept as it is, state and all.
        sluice.send(SIGHUP)
        #expect(Eventually.wait {
            events(sluice.standardErrorLines).contains { $0["message"] as? String == "files reopened" && $0["sinks_kept"] as? [String] == ["alerts"] }
        })
        sluice.write(#"{"level":"error","n":2}"# + "\n")
        #expect(Eventually.wait { counted("suppressed") == 1 }, "the second error falls in the cooldown")
        #expect(counted("matches") == 2, "counts continue")

        // The sink changes (another notifier) but the rule does not: the new sink inherits it.
        let moreNotifiers = rules.replacingOccurrences(of: "notifiers: { dev: { type: console } }", with: "notifiers: { dev: { type: console }, ops: { type: console } }")
        _ = directory.write("alerts.yaml", moreNotifiers)
        sluice.send(SIGHUP)
        #expect(Eventually.wait { kept() == 1 })
        sluice.write(#"{"level":"error","n":3}"# + "\n")
        #expect(Eventually.wait { counted("suppressed") == 2 }, "the third error falls in the carried cooldown")

        // A changed cooldown starts the rule afresh: the next error fires.
        _ = directory.write("alerts.yaml", moreNotifiers.replacingOccurrences(of: "cooldown: 1h", with: "cooldown: 2h"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { afresh() == 1 })
        #expect(kept() == 1, "a changed rule's state is not reported as kept")
        sluice.write(#"{"level":"error","n":4}"# + "\n")
        #expect(Eventually.wait { fired() == 2 })
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(fired() == 2)
        let summary = events(sluice.standardErrorLines).last { $0["message"] as? String == "alert rule summary" }
        #expect(summary?["matches"] as? Int == 1, "counts restart with a changed rule")
    }

    /// Transforms keep their state across a reload: a reload that changes them is refused (a
    /// restart applies it), and one that changes only sinks keeps them running, dedupe window
    /// and all, with a new sink taking a transform's output.
    /// A reload applies changed transforms: a step whose settings did not change keeps its
    /// state wherever it moved (the dedupe still knows `a`), a changed one starts afresh, a new
    /// transform and the sink that reads it start, and events published across it are all there.
    @Test func aReloadChangesTransformsAndUnchangedStepsKeepTheirState() throws {
        let file = directory.path + "/transforms.yaml"
        let base = """
            sources: { app: { type: stdin } }
            transforms:
              once: { inputs: [app], steps: [{ dedupe: { fields: [msg], window: 1h } }] }
            sinks:
              console: { type: console, inputs: [once] }
            """
        _ = directory.write("transforms.yaml", base)
        let sluice = try SluiceBinary.launch(["--config", file])
        sluice.write(#"{"msg":"a"}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 1 })
        // A step added before the dedupe, and a second transform read by a new sink.
        let grown = base.replacingOccurrences(of: "steps: [{ dedupe", with: "steps: [{ set: { env: two } }, { dedupe") + """

              errors: { type: archive, inputs: [errors], path: "\(directory.path)/errors.ndjson.gz" }
            """
        _ = directory.write("transforms.yaml", grown.replacingOccurrences(
            of: "sinks:", with: "  errors: { inputs: [app], steps: [{ where: 'level == error' }] }\nsinks:"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("configuration reloaded; files reopened") })
        sluice.write(#"{"msg":"a"}"# + "\n" + #"{"msg":"b"}"# + "\n" + #"{"msg":"c","level":"error"}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 3 })
        // The dedupe's window changes: it starts afresh and lets `a` through again.
        _ = directory.write("transforms.yaml", (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "window: 1h", with: "window: 2h"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).filter { $0 == "configuration reloaded; files reopened" }.count == 2 })
        sluice.write(#"{"msg":"a"}"# + "\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let console = events(sluice.standardOutputLines)
        #expect(console.compactMap { $0["msg"] as? String } == ["a", "b", "c", "a"], "the unchanged dedupe kept `a` across the first reload only")
        #expect(console.dropFirst().allSatisfy { $0["env"] as? String == "two" })
        #expect(events(try archived([directory.path + "/errors.ndjson.gz"])).compactMap { $0["msg"] as? String } == ["c"])
    }

    @Test func aValidChangeAppliesAndAnInvalidOneKeepsTheRunningConfiguration() throws {
        let file = directory.path + "/live.yaml"
        let base = """
            sources: { app: { type: stdin } }
            sinks:
              console: { type: console, where: 'level >= error' }
            """
        _ = directory.write("live.yaml", base)
        let sluice = try SluiceBinary.launch(["--config", file])
        sluice.write(#"{"level":"info","n":1}"# + "\n" + #"{"level":"error","n":2}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 1 })

        // Valid: the filter widens, and a second sink appears.
        _ = directory.write("live.yaml", base.replacingOccurrences(of: "level >= error", with: "level >= info") + """

              errors: { type: archive, path: "\(directory.path)/errors.ndjson.gz", where: 'level >= error' }
            """)
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("configuration reloaded; files reopened") })
        sluice.write(#"{"level":"info","n":3}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })

        // Invalid: every problem is logged, and the running configuration stays.
        _ = directory.write("live.yaml", base + "\n  broken: { type: consol }\n")
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("configuration reload failed; keeping the running configuration") })
        let failure = events(sluice.standardErrorLines).first { $0["message"] as? String == "configuration reload failed; keeping the running configuration" }
        #expect((failure?["problems"] as? [String])?.contains { $0.contains("sinks.broken.type") && $0.contains("did you mean \"console\"") } == true)

        // A change to sources is refused: it would cut connected writers off.
        _ = directory.write("live.yaml", base.replacingOccurrences(of: "type: stdin", with: "type: stdin, format: json"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains { $0.hasPrefix("the reloaded configuration changes sources") } })

        sluice.write(#"{"level":"error","n":4}"# + "\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["n"] as? Int } == [2, 3, 4])
        #expect(events(try archived([directory.path + "/errors.ndjson.gz"])).compactMap { $0["n"] as? Int } == [4])
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["console"] as? Int == 3)
    }

    private func outageConfig(_ name: String, port: Int, archiveFilter: String) -> String {
        directory.write(name, """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks:
              search:
                type: elasticsearch
                endpoint: "http://127.0.0.1:\(port)"
                index: logs
                batch: { max_events: 1000, timeout: 100ms }
                retry: { initial_backoff: 50ms, max_backoff: 200ms }
              archive: { type: archive, path: "\(directory.path)/out/a.ndjson.gz", gzip_level: 1, where: '\(archiveFilter)' }
            shutdown: { grace_period: 2s }
            """)
    }

    /// Sends `total` events over TCP on a thread of its own (the socket blocks while Sluice
    /// holds it back); true in `done` once all are sent.
    private func sendInBackground(_ total: Int, port: Int) throws -> (NamedThread, SharedFlag) {
        let socket = try SocketClient.tcp(port: port)
        let done = SharedFlag()
        let thread = NamedThread(name: "writer") {
            for start in stride(from: 0, to: total, by: 1000) {
                SocketClient.send(socket, (start..<(start + 1000)).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n")
            }
            close(socket)
            done.set()
        }
        return (thread, done)
    }

    private func reloaded(_ sluice: ChildProcess, times: Int) -> Bool {
        Eventually.wait {
            messages(sluice).filter { $0 == "files reopened" || $0 == "configuration reloaded; files reopened" }.count >= times
        }
    }

    /// The indexer is down with 50,000 events waiting under `block`; two SIGHUPs (one with the
    /// file unchanged, one changing another sink's `where`) long past the grace period lose
    /// nothing: once the indexer is back every event is indexed and none is counted dropped.
    @Test func aReloadWhileTheIndexerIsDownLosesNothing() throws {
        let port = try SocketClient.freePort()
        let file = outageConfig("outage.yaml", port: port, archiveFilter: "n >= 0")
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .null)
        let sourcePort = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        let (writer, _) = try sendInBackground(50_000, port: sourcePort)
        let retrying = {
            let text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return (HTTPGet.metric(text, #"sluice_sink_retries_total{sink="search"}"#) ?? 0) > 0
        }
        #expect(Eventually.wait(until: retrying), "the indexer never failed")

        sluice.send(SIGHUP)
        #expect(reloaded(sluice, times: 1))
        _ = outageConfig("outage.yaml", port: port, archiveFilter: "n >= 1")
        sluice.send(SIGHUP)
        #expect(reloaded(sluice, times: 2))
        ChildProcess.pause(milliseconds: 3000)  // past the 2 s grace period, the indexer still down

        let server = try FakeBulkServer(port: port)
        defer { server.stop() }
        #expect(writer.join(seconds: 90), "the writer was never let go")
        #expect(Eventually.wait(seconds: 90) { server.indexed.count == 50_000 }, "indexed \(server.indexed.count) of 50,000")
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["message"] as? String == "stopped; every event delivered", "\(summary)")
        #expect((summary["events_out"] as? [String: Any])?["search"] as? Int == 50_000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
    }

    /// SIGTERM while a reload waits on a sink that cannot deliver: Sluice still ends within the
    /// grace period (plus the moment sinks get to count), with what was not delivered counted.
    @Test func sigtermDuringAStuckReloadEndsWithinTheGracePeriod() throws {
        let port = try SocketClient.freePort()
        let file = outageConfig("stuck.yaml", port: port, archiveFilter: "n >= 0")
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .null)
        let sourcePort = try #require(sluice.listeningPort(of: "net"))
        let (writer, _) = try sendInBackground(20_000, port: sourcePort)
        #expect(Eventually.wait { sluice.standardError.contains("delivery failed; retrying") })
        _ = outageConfig("stuck.yaml", port: port + 1, archiveFilter: "n >= 0")  // the indexer itself changes
        sluice.send(SIGHUP)
        #expect(reloaded(sluice, times: 1))
        let started = Date()
        sluice.send(SIGTERM)
        let termination = sluice.wait(seconds: 30)
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 6, "took \(seconds) s with a 2 s grace period")
        #expect(termination.exitStatus != nil)
        #expect(writer.join(seconds: 10))
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let read = (summary["events_in"] as? [String: Any])?["net"] as? Int ?? -1
        let delivered = (summary["events_out"] as? [String: Any])?["search"] as? Int ?? -1
        let dropped = (summary["dropped"] as? [String: Any])?["search"] as? [String: Any] ?? [:]
        #expect(read > 0)
        #expect((dropped["shutdown"] as? Int ?? 0) > 0)
        #expect(delivered + dropped.values.compactMap { $0 as? Int }.reduce(0, +) == read, "\(summary)")
    }
}
