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

    /// A file with sinks only runs in pipe mode, reading stdin as the source `app` (before: exit
    /// 78, "at least one source is required"), and `validate` says so.
    @Test func aConfigurationWithOnlySinksReadsStdinAsTheSourceApp() throws {
        let file = directory.write("sinks-only.yaml", "sinks: { out: { type: console, inputs: [app] } }\n")
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .file(directory.write("two.log", "one\ntwo\n")))
        #expect(sluice.wait().exitStatus == 0, "\(sluice.standardError)")
        #expect(events(sluice.standardOutputLines).map { $0["source"] as? String } == ["app", "app"])
        let validate = try SluiceBinary.launch(["validate", "--config", file], stdin: .null)
        #expect(validate.wait().exitStatus == 0)
        #expect(validate.standardOutput.contains("# note: no source is declared: stdin is read as the source \"app\""), "\(validate.standardOutput)")
    }

    /// What `validate` prints loads back as it is (before: alert rules and transform steps
    /// printed as maps keyed `0:`, `1:`, which fail as rules and steps).
    @Test func validatesOutputLoadsBackUnchanged() throws {
        let file = directory.write("full.yaml", """
            sources: { app: { type: stdin } }
            transforms:
              scrub: { inputs: [app], steps: [{ redact: { patterns: [email] } }, { remove: [debug] }] }
            sinks:
              out: { type: console, inputs: [scrub] }
              alerts:
                type: alert
                rules:
                  - { name: error, when: 'level >= error', notify: [log] }
                  - { name: burst, when: 'level >= warn', notify: [log], threshold: 3, window: 1m }
                notifiers: { log: { type: console } }

            """)
        let first = try SluiceBinary.launch(["validate", "--config", file], stdin: .null)
        #expect(first.wait().exitStatus == 0)
        let printed = directory.write("printed.yaml", first.standardOutput)
        let second = try SluiceBinary.launch(["validate", "--config", printed], stdin: .null)
        #expect(second.wait().exitStatus == 0, "\(second.standardError)")
        #expect(second.standardOutput == first.standardOutput)
        #expect(first.standardOutput.contains("    rules:\n      - name: error\n"), "\(first.standardOutput)")
    }

    /// A YAML syntax error is the one problem reported, with file, line and column (before, it
    /// came with "no sink is enabled" and "at least one source is required").
    @Test func aYAMLSyntaxErrorIsTheOnlyProblemNamedWithFileLineAndColumn() throws {
        let file = directory.write("broken.yaml", "sinks:\n  out: { type: console\n  more: x\n")
        let sluice = try SluiceBinary.launch(["validate", "--config", file], stdin: .null)
        #expect(sluice.wait().exitStatus == 78)
        #expect(sluice.standardError.contains("(1 problem)"), "\(sluice.standardError)")
        #expect(sluice.standardError.contains("\(file):3:"), "\(sluice.standardError)")
        #expect(sluice.standardError.contains("YAML syntax error"))
        #expect(!sluice.standardError.contains("no sink is enabled"))
    }

    @Test func versionPrintsTheVersion() throws {
        let sluice = try SluiceBinary.launch(["--version"], stdin: .null)
        #expect(sluice.wait().exitStatus == 0)
        #expect(sluice.standardOutput.hasPrefix("sluice 0."), "\(sluice.standardOutput)")
    }
}
