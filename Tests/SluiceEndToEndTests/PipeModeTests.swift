import Foundation
import SluiceTesting
import Testing

/// Parses NDJSON output with Foundation, which also proves every line is valid JSON.
func events(_ lines: [String]) -> [[String: Any]] {
    lines.map { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? ["__invalid__": line]
    }
}

@Suite("pipe mode: app | sluice", .timeLimit(.minutes(10)), .watchdog)
struct PipeModeTests {
    let directory = TemporaryDirectory()

    @Test func twoLinesBecomeTwoEventsAndSluiceExitsZero() throws {
        let sluice = try SluiceBinary.launch()
        sluice.write("{\"level\":\"error\",\"msg\":\"x\"}\nplain text\n")
        sluice.closeStdin()
        let termination = sluice.wait()
        #expect(termination.exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.count == 2)
        #expect(output[0]["level"] as? String == "error")
        #expect(output[0]["msg"] as? String == "x")
        #expect(output[1]["message"] as? String == "plain text")
        for event in output {
            let timestamp = try #require(event["@timestamp"] as? String)
            #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
            #expect(event["source"] as? String == "stdin")
        }
        // Sluice's own log is JSON lines on stderr, never on stdout.
        let diagnostics = events(sluice.standardErrorLines)
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.allSatisfy { $0["logger"] as? String != nil && $0["__invalid__"] == nil })
        #expect(diagnostics.last?["message"] as? String == "stopped; every event delivered")
    }

    /// A pipe is a command-line tool: it binds no metrics port unless asked to, so two at once
    /// do not clash (before, the second logged "cannot serve metrics").
    @Test func aPipeBindsNoMetricsPortByDefault() throws {
        var environment = SluiceBinary.environment()
        environment["SLUICE_METRICS_ADDRESS"] = nil
        environment["PORT"] = nil
        let sluice = try ChildProcess(executable: SluiceBinary.path, arguments: [], environment: environment, stdin: .pipe)
        sluice.write("{\"msg\":\"a\"}\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(!sluice.standardError.contains("metrics"), "\(sluice.standardError)")
    }

    @Test func badInputBecomesEventsNeverACrash() throws {
        var input: [UInt8] = Array("crlf line\r\n".utf8)
        input += Array("bad utf8 ".utf8) + [0xFF, 0xFE] + [0x0A]
        input += Array(repeating: UInt8(ascii: "x"), count: 100) + [0x0A]
        input += [0x00, 0x01, 0x0A]
        input += Array("{\"deep\":".utf8) + Array(repeating: UInt8(ascii: "["), count: 5000) + [0x0A]
        input += Array("no newline at the end".utf8)
        let file = directory.write("input.log", input)
        let sluice = try SluiceBinary.launch(environment: ["SLUICE_SOURCES_STDIN_MAX_LINE_BYTES": "64"], stdin: .file(file))
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        let messages = output.map { $0["message"] as? String }
        #expect(output.allSatisfy { $0["__invalid__"] == nil })
        #expect(messages[0] == "crlf line")
        #expect(messages[1] == "bad utf8 \u{FFFD}\u{FFFD}")
        #expect(messages[2] == String(repeating: "x", count: 64))
        #expect(messages[3] == String(repeating: "x", count: 36))
        #expect((output[3]["@split"] as? [String: Any])?["last"] as? Bool == true)
        #expect(messages[4] == "\u{0}\u{1}")
        #expect(messages.last == "no newline at the end")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let problems = (summary["input_problems"] as? [String: Any])?["stdin"] as? [String: Any]
        #expect(problems?["invalid_utf8_lines"] as? Int == 1)
        #expect((problems?["cut_line_parts"] as? Int ?? 0) >= 2)
    }

    /// `seq 1 200000 | sluice | head -1`: what reached the pipe before `head` closed it counts
    /// as delivered (at least the line `head` printed), only the rest as `output_closed`.
    @Test func aClosedStdoutIsCountedNotFatal() throws {
        let lines = (1...200_000).map { "\($0)" }.joined(separator: "\n") + "\n"
        let file = directory.write("many.log", lines)
        let shell = try ChildProcess(
            executable: "/bin/sh",
            arguments: ["-c", "\"$0\" < \"$1\" | head -n 1", SluiceBinary.path, file],
            environment: SluiceBinary.environment()
        )
        #expect(shell.wait().exitStatus == 0)
        #expect(shell.standardOutputLines.count == 1)
        let summary = events(shell.standardErrorLines).last ?? [:]
        #expect(summary["message"] as? String == "stopped; some events were not delivered")
        let dropped = (summary["dropped"] as? [String: Any])?["console"] as? [String: Any]
        let closed = dropped?["output_closed"] as? Int ?? 0
        let delivered = (summary["events_out"] as? [String: Any])?["console"] as? Int ?? 0
        #expect(closed > 0)
        #expect(delivered >= 1, "head printed a line Sluice wrote")
        #expect(closed + delivered == 200_000)
    }

    /// A pipe job ends even when a sink cannot deliver: once the input has ended, the sinks have
    /// `shutdown.grace_period` to deliver what is left; then what they hold is counted as dropped
    /// (`shutdown`) and Sluice exits 1, so a script notices.
    @Test func aPipeEndsWhenItsIndexerIsUnreachable() throws {
        let port = try SocketClient.freePort()
        let config = directory.write("unreachable.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search: { type: elasticsearch, endpoint: "http://127.0.0.1:\(port)", index: logs }
            shutdown: { grace_period: 2s }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write("{\"msg\":\"a\"}\n")
        sluice.closeStdin()
        // Before, Sluice retried until a signal came: `wait` kills it after 30 s (no status).
        #expect(sluice.wait(seconds: 30).exitStatus == 1)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["message"] as? String == "stopped; some events were not delivered", "\(summary)")
        #expect(((summary["dropped"] as? [String: Any])?["search"] as? [String: Any])?["shutdown"] as? Int == 1, "\(summary)")
        #expect(sluice.standardError.contains("input ended"), "the log says why Sluice stopped waiting")
    }

    /// A fast writer fills each read with hundreds of lines, which two encoders share (see
    /// `HelperEncoder`): every line still comes out once, in order, and the bad-input counts of
    /// both halves add up.
    @Test func linesEncodedOnTwoCoresComeOutInOrder() throws {
        let count = 200_000
        var input: [UInt8] = []
        for index in 0..<count {
            switch index % 3 {
            case 0: input += Array(#"{"n":\#(index),"level":"info"}"#.utf8)
            case 1: input += Array("plain \(index)".utf8)
            default: input += Array("bad \(index) ".utf8) + [0xFF]
            }
            input.append(0x0A)
        }
        let directory = TemporaryDirectory()
        let sluice = try SluiceBinary.launch(stdin: .file(directory.write("in.log", input)))
        #expect(sluice.wait(seconds: 120).exitStatus == 0)
        var expected = 0
        var outOfOrder = 0
        for line in sluice.standardOutputLines {
            let event = events([line]).first ?? [:]
            let number = event["n"] as? Int ?? Int((event["message"] as? String ?? "").split(separator: " ").dropFirst().first ?? "") ?? -1
            if number != expected { outOfOrder += 1 }
            expected = number + 1
        }
        #expect(outOfOrder == 0)
        #expect(sluice.standardOutputLines.count == count)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let problems = summary["input_problems"] as? [String: Any]
        #expect((problems?["stdin"] as? [String: Any])?["invalid_utf8_lines"] as? Int == count / 3, "\(String(describing: problems))")
    }

    @Test func memoryStaysFlatForALargeInput() throws {
        let line = #"{"ts":"2024-06-01T00:00:00.000Z","level":"info","svc":"checkout","msg":"request completed","path":"/api/v1/orders/12345","status":200,"dur_ms":12.5}"#
        let chunk = String(repeating: line + "\n", count: 10_000)
        let sluice = try SluiceBinary.launch(stdout: .null)
        for _ in 0..<40 { sluice.write(chunk) }  // about 60 MB
        sluice.closeStdin()
        let termination = sluice.wait(seconds: 120)
        #expect(termination.exitStatus == 0)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        // Sluice's own high-water mark (wait4's ru_maxrss would include this test process).
        let peak = summary["peak_rss_kib"] as? Int ?? .max
        #expect(peak < 64 * 1024, "peak RSS \(peak) KiB")
        #expect((summary["events_out"] as? [String: Any])?["console"] as? Int == 400_000)
    }
}
