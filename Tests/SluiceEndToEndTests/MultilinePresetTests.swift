import Foundation
import SluiceTesting
import Testing

/// Each multiline preset against the traces its runtime really prints (`Tests/Traces`): a
/// program's ordinary lines (stdout) and its one trace (stderr), between ordinary lines of other
/// kinds, go through `sluice` with the preset, and come out as one event per ordinary line and
/// exactly one for the trace, whole.
@Suite("multiline presets on real traces", .timeLimit(.minutes(10)), .watchdog)
struct MultilinePresetTests {
    let directory = TemporaryDirectory()
    private static let traces = String(#filePath.split(separator: "/Tests/").first ?? "") + "/Tests/Traces"

    @Test(.requires("go"), arguments: [
        ("method_panic.go", ""), ("goroutine_nil_map.go", ""), ("recovered_nil_pointer.go", ""), ("deadlock.go", ""),
        ("index_out_of_range.go", "all"), ("index_out_of_range.go", "system"), ("self_quit.go", ""),
    ])
    func goPanicsAndDumps(program: String, traceback: String) throws {
        let binary = directory.path + "/" + program.replacingOccurrences(of: ".go", with: "")
        let build = try ChildProcess(executable: try #require(ExternalTool.path("go")), arguments: ["build", "-o", binary, Self.traces + "/go/" + program], environment: goEnvironment)
        #expect(build.wait(seconds: 120).exitStatus == 0, "go build: \(build.standardError)")
        var environment = ChildProcess.currentEnvironment
        if !traceback.isEmpty { environment["GOTRACEBACK"] = traceback }
        let run = try ChildProcess(executable: binary, arguments: [], environment: environment)
        #expect(run.wait().exitStatus == 2)
        try expectJoined(preset: "go", ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["panic: ", "fatal error: ", "SIGQUIT: "])
    }

    /// `go run` adds the program's `exit status 2` after the trace.
    @Test(.requires("go")) func goRunsExitStatusLineStaysWithThePanic() throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("go")), arguments: ["run", Self.traces + "/go/method_panic.go"], environment: goEnvironment)
        #expect(run.wait(seconds: 120).exitStatus == 1)
        #expect(run.standardError.hasSuffix("exit status 2\n"))
        try expectJoined(preset: "go", ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["panic: "])
    }

    @Test(.requires("python3"), arguments: ["logged_cause.py", "uncaught_context.py", "exception_group.py", "syntax_error.py"])
    func pythonTracebacks(program: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("python3")), arguments: [Self.traces + "/python/" + program])
        #expect(run.wait().exitStatus == (program == "logged_cause.py" ? 0 : 1))
        try expectJoined(preset: "python", ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["Traceback", "  + Exception Group", "20"])
    }

    @Test(.optionallyRequires("java", "the Java traces are skipped (a JDK is optional, in CI too)"), arguments: ["LoggedTrace.java", "UncaughtInThread.java"])
    func javaStackTraces(program: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("java")), arguments: [Self.traces + "/java/" + program])
        #expect(run.wait(seconds: 120).exitStatus == 0)
        let output = try expectJoined(preset: "java", ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["2026-", "Exception in thread"])
        if program == "LoggedTrace.java" {
            // The exception belongs to the log line, so the event has its level.
            let event = try #require(events(output).first { ($0["message"] as? String)?.contains("Caused by:") == true })
            #expect(event["level"] as? String == "error")
        }
    }

    private var goEnvironment: [String: String] {
        var environment = ChildProcess.currentEnvironment
        environment["GOCACHE"] = environment["GOCACHE"] ?? "/tmp/sluice-test-gocache"
        environment["GOPATH"] = environment["GOPATH"] ?? "/tmp/sluice-test-gopath"
        return environment
    }

    /// Runs `before + ordinary + trace + after` through Sluice with `preset`; expects one event
    /// per ordinary line, in order, and the trace as one event, byte for byte. Returns Sluice's
    /// output lines.
    @discardableResult
    private func expectJoined(preset: String, ordinary: [String], trace: String, tracePrefix: [String]) throws -> [String] {
        let trace = String(trace.reversed().drop { $0 == "\n" }.reversed())
        try #require(tracePrefix.contains { trace.hasPrefix($0) }, "the program printed no trace: \(trace)")
        let before = [#"{"level":"info","msg":"before"}"#, "level=info msg=\"first\" id=1"]
        let after = ["level=info msg=\"after\"", "2026-12-01 10:00:01 INFO next request", #"{"level":"info","msg":"last"}"#]
        let input = (before + ordinary + [trace] + after).joined(separator: "\n") + "\n"
        let config = directory.write("\(preset).yaml", """
            sources: { app: { type: stdin, multiline: { preset: \(preset), timeout: 10s } } }
            sinks: { out: { type: console } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("\(preset).log", input)))
        #expect(sluice.wait().exitStatus == 0)
        let texts = events(sluice.standardOutputLines).map { ($0["message"] as? String) ?? ($0["msg"] as? String) ?? "?" }
        let expected = (before + ordinary + [trace] + after).map { line in
            events([line]).first?["msg"] as? String ?? line
        }
        #expect(texts.count == expected.count, "\(texts.count) events for \(expected.count) expected:\n\(texts.joined(separator: "\n---\n"))")
        #expect(texts == expected)
        return sluice.standardOutputLines
    }
}
