import Foundation
import Glibc
import SluiceTesting
import Testing

/// One routing model for pipe and wrap mode: the app's output is the source `app` whichever way
/// it is declared, a sink's `inputs` name what it takes, and a sink without `inputs` takes every
/// source (never a transform's output). Checked through the binary over every combination of
/// {pipe, wrap} × {`sources.app` declared, not declared} × {a transform, none} × {the sink's
/// `inputs` named, omitted}: each sink gets exactly the events its inputs say, once each.
@Suite("routing: one model for pipe and wrap mode", .timeLimit(.minutes(10)), .watchdog)
struct RoutingModelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var wrap: Bool
        var declaresApp: Bool
        var transform: Bool
        var namesInputs: Bool

        var testDescription: String {
            "\(wrap ? "wrap" : "pipe"), app \(declaresApp ? "declared" : "not declared"), \(transform ? "a transform" : "no transform"), inputs \(namesInputs ? "named" : "omitted")"
        }
    }

    static let cases: [Case] = [false, true].flatMap { wrap in
        [false, true].flatMap { declaresApp in
            [false, true].flatMap { transform in
                [false, true].map { Case(wrap: wrap, declaresApp: declaresApp, transform: transform, namesInputs: $0) }
            }
        }
    }

    static let count = 50

    /// Each line carries an address the transform redacts, so a sink's output tells raw events
    /// from the transform's.
    static let input = (0..<count).map { #"{"n":\#($0),"msg":"mail a\#($0)@b.com"}"# }.joined(separator: "\n") + "\n"

    @Test(arguments: cases)
    func eachSinkReceivesExactlyWhatItsInputsSay(_ routing: Case) throws {
        let directory = TemporaryDirectory()
        var yaml = ""
        if routing.declaresApp { yaml += "sources: { app: { type: stdin, format: auto } }\n" }
        if routing.transform {
            yaml += """
                transforms:
                  scrub:
                    inputs: [app]
                    steps: [{ redact: { patterns: [email] } }]

                """
        }
        // `chosen` names its inputs (the transform when there is one, else the app) or omits
        // them; `raw` always omits them: every source, never a transform's output.
        let chosenInputs = routing.namesInputs ? "inputs: [\(routing.transform ? "scrub" : "app")], " : ""
        yaml += """
            sinks:
              chosen: { type: archive, \(chosenInputs)path: "\(directory.path)/chosen.ndjson.gz", flush_interval: 100ms }
              raw: { type: archive, path: "\(directory.path)/raw.ndjson.gz", flush_interval: 100ms }
            shutdown: { grace_period: 2s }
            metrics: { enabled: false }

            """
        let config = directory.write("routing.yaml", yaml)
        let sluice: ChildProcess
        if routing.wrap {
            sluice = try SluiceBinary.launch(["--config", config, "--", "/bin/cat", directory.write("in.log", Self.input)], stdin: .null)
        } else {
            sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", Self.input)))
        }
        let status = sluice.wait(seconds: 60).exitStatus
        #expect(status == 0, "\(sluice.standardError)")
        let redacted = routing.transform && routing.namesInputs
        for (sink, expectRedacted) in [("chosen", redacted), ("raw", false)] {
            let events = try Self.archived(directory.path + "/\(sink).ndjson.gz")
            let numbers = events.compactMap { $0["n"] as? Int }.sorted()
            #expect(numbers == Array(0..<Self.count), "\(sink): every event once, got \(numbers.count): \(numbers.prefix(12))...")
            #expect(events.allSatisfy { $0["source"] as? String == "app" }, "\(sink): the source is app")
            let messages = events.compactMap { $0["msg"] as? String }
            if expectRedacted {
                #expect(messages.allSatisfy { !$0.contains("@b.com") }, "\(sink): takes the transform's output")
            } else {
                #expect(messages.allSatisfy { $0.contains("@b.com") }, "\(sink): takes the raw source")
            }
        }
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let out = summary["events_out"] as? [String: Any]
        #expect(out?["chosen"] as? String == "\(Self.count)" || out?["chosen"] as? Int == Self.count, "\(summary)")
        #expect(out?["raw"] as? String == "\(Self.count)" || out?["raw"] as? Int == Self.count, "\(summary)")
    }

    /// The events in a gzip archive (`gzip -dc`).
    static func archived(_ path: String) throws -> [[String: Any]] {
        let reader = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "gzip -dc '\(path)'"], stdin: .null)
        #expect(reader.wait().exitStatus == 0, "\(path): \(reader.standardError)")
        return events(reader.standardOutputLines)
    }
}
