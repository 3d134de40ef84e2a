import Glibc
import SluiceTesting
import Testing

@Suite("signals and configuration, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct SignalAndConfigTests {
    let directory = TemporaryDirectory()

    @Test func sigtermDrainsWhatWasReadAndExitsZeroAfterTheGracePeriod() throws {
        let sluice = try SluiceBinary.launch(environment: ["SLUICE_SHUTDOWN_GRACE_PERIOD": "300ms"])
        sluice.write("one\ntwo\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })
        sluice.send(SIGTERM)
        // The writer keeps stdin open: Sluice waits the grace period, then stops reading.
        let termination = sluice.wait()
        #expect(termination.exitStatus == 0)
        #expect(events(sluice.standardOutputLines).map { $0["message"] as? String } == ["one", "two"])
        let messages = events(sluice.standardErrorLines).compactMap { $0["message"] as? String }
        #expect(messages.contains("draining"))
        #expect(messages.contains("grace period over; stopping sources now"))
    }

    @Test func aSecondSignalStopsAtOnce() throws {
        let sluice = try SluiceBinary.launch(environment: ["SLUICE_SHUTDOWN_GRACE_PERIOD": "1h"])
        sluice.write("pending line without newline")
        #expect(Eventually.wait { sluice.standardErrorLines.contains { $0.contains("\"started\"") } })
        // Signalled only once Sluice has read the bytes (on a busy machine it may not have yet,
        // and what was never read cannot be kept).
        #expect(Eventually.wait { sluice.unreadStdinBytes == 0 })
        sluice.send(SIGTERM)
        #expect(Eventually.wait { sluice.standardErrorLines.contains { $0.contains("\"draining\"") } })
        sluice.send(SIGINT)
        let termination = sluice.wait()
        #expect(termination.exitStatus == 0)
        // Even stopped early, the half line already read is kept.
        #expect(events(sluice.standardOutputLines).map { $0["message"] as? String } == ["pending line without newline"])
    }

    /// After the second signal Sluice exits within a bound however a sink behaves: here an
    /// indexer that accepts the connection and never answers (and a request timeout of 10
    /// minutes). What the sink still held is counted as dropped.
    @Test func aSecondSignalEndsSluiceWhateverASinkIsDoing() throws {
        let (listener, port) = try SocketClient.listener()
        defer { close(listener) }
        let config = directory.write("silent.yaml", """
            sources: { app: { type: stdin } }
            sinks: { silent: { type: http, url: "http://127.0.0.1:\(port)/ingest", timeout: 10m, batch: { timeout: 100ms } } }
            shutdown: { grace_period: 1h }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write((0..<100).map { "line \($0)" }.joined(separator: "\n") + "\n")
        // The request is sent: the connection waits in the listener's backlog, never answered.
        var probe = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        #expect(poll(&probe, 1, 30_000) == 1, "the sink never connected")
        sluice.send(SIGTERM)
        #expect(Eventually.wait { sluice.standardErrorLines.contains { $0.contains("\"draining\"") } })
        let started = ChildProcess.nowSeconds()
        sluice.send(SIGTERM)
        let termination = sluice.wait(seconds: 30)
        let seconds = ChildProcess.nowSeconds() - started
        #expect(seconds < 5, "exited \(seconds) s after the second signal")
        #expect(termination.signal == nil)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(((summary["dropped"] as? [String: Any])?["silent"] as? [String: Any])?["shutdown"] as? Int == 100, "\(summary)")
    }

    @Test func anInvalidConfigurationExits78NamingTheKey() throws {
        let file = directory.write("bad.yaml", "sources: { app: { type: stdin } }\nsinks: { out: { type: consol } }\n")
        let sluice = try SluiceBinary.launch(["--config", file])
        #expect(sluice.wait().exitStatus == 78)
        #expect(sluice.standardOutput.isEmpty)
        let log = events(sluice.standardErrorLines).last ?? [:]
        #expect(log["level"] as? String == "fatal")
        let problems = log["problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("sinks.out.type") && $0.contains("did you mean \"console\"") })
    }

    @Test func validatePrintsTheEffectiveConfiguration() throws {
        let file = directory.write("ok.yaml", "sources: { app: { type: stdin, labels: { service: checkout } } }\nsinks: { out: { type: console } }\n")
        let sluice = try SluiceBinary.launch(["validate", "--config", file], environment: ["SLUICE_SHUTDOWN_GRACE_PERIOD": "3s"])
        #expect(sluice.wait().exitStatus == 0)
        let output = sluice.standardOutput
        #expect(output.contains("    type: stdin"))
        #expect(output.contains("    format: auto"))
        #expect(output.contains("      service: checkout"))
        #expect(output.contains("  grace_period: 3s"))
        #expect(output.contains("    when_full: block"))
    }

    @Test func validateReportsEveryProblemAndExits78() throws {
        let file = directory.write("two.yaml", "sources: { app: { type: stdin, max_line_bytes: huge } }\nsinks: { out: { type: console, when_full: never } }\n")
        let sluice = try SluiceBinary.launch(["validate", "--config", file])
        #expect(sluice.wait().exitStatus == 78)
        #expect(sluice.standardError.contains("2 problems"))
        #expect(sluice.standardError.contains("sources.app.max_line_bytes"))
        #expect(sluice.standardError.contains("sinks.out.when_full"))
    }
}
