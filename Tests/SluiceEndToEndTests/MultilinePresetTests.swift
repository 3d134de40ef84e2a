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

    /// Each runtime's own preset, and `auto`, which must join every one of them the same way.
    static func presets(_ runtime: String) -> [String] { [runtime, "auto"] }

    @Test(.requires("go"), arguments: [
        ("method_panic.go", ""), ("goroutine_nil_map.go", ""), ("recovered_nil_pointer.go", ""), ("deadlock.go", ""),
        ("index_out_of_range.go", "all"), ("index_out_of_range.go", "system"), ("self_quit.go", ""),
    ], presets("go"))
    func goPanicsAndDumps(program: (String, String), preset: String) throws {
        let (program, traceback) = program
        let binary = directory.path + "/" + program.replacingOccurrences(of: ".go", with: "")
        let build = try ChildProcess(executable: try #require(ExternalTool.path("go")), arguments: ["build", "-o", binary, Self.traces + "/go/" + program], environment: goEnvironment)
        #expect(build.wait(seconds: 120).exitStatus == 0, "go build: \(build.standardError)")
        var environment = ChildProcess.currentEnvironment
        if !traceback.isEmpty { environment["GOTRACEBACK"] = traceback }
        let run = try ChildProcess(executable: binary, arguments: [], environment: environment)
        #expect(run.wait().exitStatus == 2)
        try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["panic: ", "fatal error: ", "SIGQUIT: "])
    }

    /// `go run` adds the program's `exit status 2` after the trace.
    @Test(.requires("go"), arguments: presets("go")) func goRunsExitStatusLineStaysWithThePanic(preset: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("go")), arguments: ["run", Self.traces + "/go/method_panic.go"], environment: goEnvironment)
        #expect(run.wait(seconds: 120).exitStatus == 1)
        #expect(run.standardError.hasSuffix("exit status 2\n"))
        try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["panic: "])
    }

    @Test(.requires("python3"), arguments: ["logged_cause.py", "uncaught_context.py", "exception_group.py", "syntax_error.py"], presets("python"))
    func pythonTracebacks(program: String, preset: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("python3")), arguments: [Self.traces + "/python/" + program])
        #expect(run.wait().exitStatus == (program == "logged_cause.py" ? 0 : 1))
        let output = try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["Traceback", "  + Exception Group", "20"])
        try expectTheTraceIsAnError(output)
    }

    @Test(.optionallyRequires("java", "the Java traces are skipped (a JDK is optional, in CI too)"), arguments: ["LoggedTrace.java", "UncaughtInThread.java"], presets("java"))
    func javaStackTraces(program: String, preset: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("java")), arguments: [Self.traces + "/java/" + program])
        #expect(run.wait(seconds: 120).exitStatus == 0)
        let output = try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["2026-", "Exception in thread"])
        // The exception belongs to the log line, so the event has its level, or it is the error.
        try expectTheTraceIsAnError(output)
    }

    @Test(.requires("node"), arguments: ["uncaught_type_error.js", "error_with_properties.js", "logged_error.js", "unhandled_rejection.js"], presets("node"))
    func nodeErrors(program: String, preset: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("node")), arguments: [Self.traces + "/node/" + program])
        #expect(run.wait(seconds: 60).exitStatus == (program == "logged_error.js" ? 0 : 1))
        let output = try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["/", "node:", "SyntaxError: "])
        try expectTheTraceIsAnError(output)
    }

    @Test(.requires("ruby"), arguments: ["uncaught.rb", "with_cause.rb"], presets("ruby"))
    func rubyExceptions(program: String, preset: String) throws {
        let run = try ChildProcess(executable: try #require(ExternalTool.path("ruby")), arguments: [Self.traces + "/ruby/" + program])
        #expect(run.wait(seconds: 60).exitStatus == 1)
        let output = try expectJoined(preset: preset, ordinary: run.standardOutputLines, trace: run.standardError, tracePrefix: ["/"])
        try expectTheTraceIsAnError(output)
    }

    /// .NET's unhandled exception with an inner one, as the runtime prints it (recorded: no .NET
    /// runtime is installable here; see `Tests/Traces/README.md`).
    @Test(arguments: presets("dotnet")) func dotnetUnhandledException(preset: String) throws {
        let trace = try String(contentsOfFile: Self.traces + "/dotnet/unhandled_inner.txt", encoding: .utf8)
        let output = try expectJoined(preset: preset, ordinary: ["info: Billing.Program[0] starting"], trace: trace, tracePrefix: ["Unhandled exception."])
        try expectTheTraceIsAnError(output)
    }

    /// `auto` is the default for stdin and a wrapped program: a Python traceback is one event,
    /// an error, with no configuration at all (before: 16 events for a chained traceback, none
    /// with a level).
    @Test(.requires("python3")) func autoIsTheDefaultForStdinAndWrapMode() throws {
        let program = Self.traces + "/python/uncaught_context.py"
        let wrapped = try SluiceBinary.launch(["--", try #require(ExternalTool.path("python3")), program], stdin: .null)
        #expect(wrapped.wait(seconds: 60).exitStatus == 1, "the app's status")
        let traces = events(wrapped.standardOutputLines).filter { $0["stream"] as? String == "stderr" }
        #expect(traces.count == 1, "\(traces.count) events on stderr: \(traces.map { $0["message"] ?? "" })")
        #expect(traces.first?["level"] as? String == "error")
        #expect((traces.first?["message"] as? String)?.contains("During handling of the above exception") == true)

        let run = try ChildProcess(executable: try #require(ExternalTool.path("python3")), arguments: [program])
        _ = run.wait()
        let piped = try SluiceBinary.launch([], stdin: .file(directory.write("traceback.log", run.standardError)))
        #expect(piped.wait().exitStatus == 0)
        #expect(events(piped.standardOutputLines).count == 1, "\(piped.standardOutput)")
        // `preset: none` turns it off.
        let none = directory.write("none.yaml", "sources: { app: { type: stdin, multiline: { preset: none } } }\nsinks: { out: { type: console } }\n")
        let plain = try SluiceBinary.launch(["--config", none], stdin: .file(directory.path + "/traceback.log"))
        #expect(plain.wait().exitStatus == 0)
        let lines = run.standardError.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(events(plain.standardOutputLines).count == lines, "one event per line, blank ones too")
    }

    private func expectTheTraceIsAnError(_ output: [String]) throws {
        let joined = events(output).filter { ($0["message"] as? String)?.contains("\n") == true }
        #expect(joined.count == 1)
        #expect(joined.first?["level"] as? String == "error", "\(joined.first ?? [:])")
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
