import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("wrap mode: sluice -- app", .timeLimit(.minutes(10)), .watchdog)
struct WrapModeTests {
    let directory = TemporaryDirectory()

    @Test func stdoutAndStderrAreTwoTaggedStreamsAndTheStatusIsTheApps() throws {
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", "echo out; echo err >&2; echo '{\"level\":\"warn\"}'; exit 3"])
        #expect(sluice.wait().exitStatus == 3)
        let output = events(sluice.standardOutputLines)
        #expect(output.count == 3)
        let byMessage = Dictionary(uniqueKeysWithValues: output.compactMap { event in (event["message"] as? String).map { ($0, event) } })
        #expect(byMessage["out"]?["stream"] as? String == "stdout")
        #expect(byMessage["err"]?["stream"] as? String == "stderr")
        #expect(output.allSatisfy { $0["source"] as? String == "app" })
        #expect(output.contains { $0["level"] as? String == "warn" && $0["stream"] as? String == "stdout" })
    }

    /// `Config/examples/development.yaml` as its header says: `validate ... -- app` checks it, and
    /// `sluice --config ... -- app` gives the app Sluice's stdin (before, the file's stdin source
    /// took it) and the file's labels reach the app's events.
    @Test func theDevelopmentExampleWrapsAnAppThatKeepsItsStdin() throws {
        let example = String(#filePath.split(separator: "/Tests/").first ?? "") + "/Config/examples/development.yaml"
        let app = ["/bin/sh", "-c", "read line; echo \"got $line\""]
        let validate = try SluiceBinary.launch(["validate", "--config", example, "--"] + app, stdin: .null)
        #expect(validate.wait().exitStatus == 0, "\(validate.standardError)")
        let sluice = try SluiceBinary.launch(["--config", example, "--"] + app)
        sluice.write("hello\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.count == 1, "\(sluice.standardOutput)")
        #expect(output.first?["message"] as? String == "got hello")
        #expect(output.first?["env"] as? String == "development", "\(output)")
    }

    @Test func aSignalThatEndsTheAppGives128PlusItsNumber() throws {
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", "kill -KILL $$"])
        #expect(sluice.wait().exitStatus == 128 + SIGKILL)
    }

    @Test func aMissingProgramExits127AndANonExecutableOne126() throws {
        let missing = try SluiceBinary.launch(["--", "/no/such/program", "arg"])
        #expect(missing.wait().exitStatus == 127)
        #expect(missing.standardError.contains("cannot start /no/such/program: No such file or directory"))
        let script = directory.write("not-executable.sh", "echo hi\n")
        let denied = try SluiceBinary.launch(["--", script])
        #expect(denied.wait().exitStatus == 126)
        #expect(denied.standardError.contains("Permission denied"))
    }

    @Test func sigtermIsForwardedAndTheAppsLastWordsAreKept() throws {
        let script = "trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.05; done"
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", script])
        #expect(Eventually.wait { sluice.standardOutput.contains("ready") })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["message"] as? String } == ["ready", "got TERM"])
    }

    @Test(arguments: [SIGUSR1, SIGUSR2, SIGQUIT, SIGINT])
    func otherSignalsAreForwarded(_ signal: Int32) throws {
        let script = "trap 'echo got it; exit 7' USR1 USR2 QUIT INT; echo ready; while true; do sleep 0.05; done"
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", script])
        #expect(Eventually.wait { sluice.standardOutput.contains("ready") })
        sluice.send(signal)
        #expect(sluice.wait().exitStatus == 7)
        #expect(sluice.standardOutput.contains("got it"))
    }

    /// SIGHUP is Sluice's reload, and by default it is not forwarded: an app that does not
    /// handle it (its default action is to die) keeps running. Before `wrap.forward_signals`,
    /// the forwarded SIGHUP killed it (exit 129).
    @Test func sighupReloadsSluiceAndLeavesAnAppThatDoesNotHandleItRunning() throws {
        let script = "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.05; done"
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", script])
        #expect(Eventually.wait { sluice.standardOutput.contains("ready") })
        sluice.send(SIGHUP)
        #expect(Eventually.wait { sluice.standardError.contains("files reopened") }, "\(sluice.standardError)")
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0, "the app lived through SIGHUP and ended on SIGTERM")
        #expect(sluice.standardOutput.contains("bye"))
    }

    /// `wrap.forward_signals` lists what is passed on: SIGHUP can be, and SIGTERM can be held back.
    @Test func forwardSignalsChoosesWhatReachesTheApp() throws {
        let hup = directory.write("hup.yaml", "wrap: { forward_signals: [SIGHUP, TERM] }\nsinks: { out: { type: console } }\n")
        let script = "trap 'echo got HUP; exit 7' HUP; echo ready; while true; do sleep 0.05; done"
        let forwarded = try SluiceBinary.launch(["--config", hup, "--", "/bin/sh", "-c", script])
        #expect(Eventually.wait { forwarded.standardOutput.contains("ready") })
        forwarded.send(SIGHUP)
        #expect(forwarded.wait().exitStatus == 7)
        #expect(forwarded.standardOutput.contains("got HUP"))

        let none = directory.write("none.yaml", "wrap: { forward_signals: [] }\nshutdown: { grace_period: 300ms }\nsinks: { out: { type: console } }\n")
        let held = try SluiceBinary.launch(["--config", none, "--", "/bin/sh", "-c", "trap 'exit 5' TERM; echo ready; while true; do sleep 0.05; done"])
        #expect(Eventually.wait { held.standardOutput.contains("ready") })
        held.send(SIGTERM)
        // Not forwarded: the app runs on until the grace period ends and Sluice kills it.
        #expect(held.wait().exitStatus == 128 + SIGKILL)

        let wrong = directory.write("wrong.yaml", "wrap: { forward_signals: [SIGKILL] }\nsinks: { out: { type: console } }\n")
        let validate = try SluiceBinary.launch(["validate", "--config", wrong, "--", "/bin/true"], stdin: .null)
        #expect(validate.wait().exitStatus == 78)
        #expect(validate.standardError.contains("wrap.forward_signals"), "\(validate.standardError)")
    }

    @Test func orphansOfTheAppAreReaped() throws {
        let pidFile = directory.path + "/orphan.pid"
        // The subshell exits at once, orphaning its background sleep: Sluice adopts and reaps it.
        let script = "(sleep 0.3 & echo $! > \(pidFile)); echo ready; while true; do sleep 0.05; done"
        let sluice = try SluiceBinary.launch(["--", "/bin/sh", "-c", script])
        #expect(Eventually.wait { sluice.standardOutput.contains("ready") })
        var orphan = ""
        #expect(Eventually.wait {
            orphan = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
            return !orphan.isEmpty
        })
        let procPath = "/proc/" + orphan.trimmingCharacters(in: .whitespacesAndNewlines)
        // Reaped means gone from /proc (an unreaped orphan would linger as a zombie).
        #expect(Eventually.wait { access(procPath, F_OK) != 0 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 143)
    }

    @Test func execSourcesInAConfigurationRunSeveralApps() throws {
        let config = directory.write("apps.yaml", """
            sources:
              one: { type: exec, command: ["/bin/sh", "-c", "echo from one"] }
              two: { type: exec, command: ["/bin/sh", "-c", "echo $GREETING from two >&2"], env: { GREETING: hello } }
            sinks:
              out: { type: console }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(Set(output.compactMap { $0["message"] as? String }) == ["from one", "hello from two"])
        #expect(output.contains { $0["source"] as? String == "two" && $0["stream"] as? String == "stderr" })
    }

    @Test func anExecSourcesMissingProgramIsAConfigurationError() throws {
        let config = directory.write("missing.yaml", """
            sources:
              job: { type: exec, command: [no-such-program-here] }
              relative: { type: exec, command: [./bin/env], working_directory: /usr }
              elsewhere: { type: exec, command: [./bin/env] }
            sinks:
              out: { type: console }
            """)
        let sluice = try SluiceBinary.launch(["validate", "--config", config], stdin: .null)
        #expect(sluice.wait().exitStatus == 78)
        #expect(sluice.standardError.contains(#"sources.job.command: no program "no-such-program-here" in PATH"#))
        #expect(sluice.standardError.contains(#"sources.elsewhere.command: "./bin/env" is not an executable file"#))
        #expect(!sluice.standardError.contains("sources.relative"), "a relative path is looked up from the working directory")
    }
}
