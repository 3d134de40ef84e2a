import Foundation
import Glibc
import SluiceTesting
import Testing

/// Transforms through the binary: secrets planted in every kind of place are gone from every
/// sink's output (the console after two transforms, a gzip archive after one), look-alikes
/// survive, removals are counted, and mistakes in the configuration are named.
@Suite("transforms, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct TransformPipelineTests {
    let directory = TemporaryDirectory()

    /// What is planted (a token and a password with the words that make them secrets), and the
    /// secrets that must not come out.
    static let planted = [
        "4111 1111 1111 1111", "5500-0000-0000-0004", "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE", "Bearer abc123def456ghi789",
        "password=hunter2", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    ]
    static let secrets = [
        "4111 1111 1111 1111", "5500-0000-0000-0004", "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE", "abc123def456ghi789",
        "hunter2", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    ]
    static let lookAlikes = ["order 1234567812345678", "v1.2.3.4", "sha 9f86d081884c7d659a2feaa0c55ad015", "user@localhost"]

    private func lines() -> String {
        (0..<2_000).map { n in
            let secret = Self.planted[(n / 4) % Self.planted.count]
            let lookAlike = Self.lookAlikes[(n / 4) % Self.lookAlikes.count]
            switch n % 4 {
            case 0: return #"{"level":"info","trace_id":"t\#(n / 4)","msg":"paid with \#(secret)","note":"\#(lookAlike)"}"#
            case 1: return #"{"level":"debug","trace_id":"t\#(n / 4)","ctx":{"user":{"card":"\#(secret)"}},"list":["\#(lookAlike)","\#(secret)"]}"#
            case 2: return #"{"level":"warn","trace_id":"t\#(n / 4)","password":"\#(secret)","headers":{"cookie":"c=\#(n)","authorization":"\#(secret)"},"note":"\#(lookAlike)"}"#
            default: return "ERROR plain text: \(secret), token for \(secret) and \(lookAlike)"
            }
        }.joined(separator: "\n") + "\n"
    }

    @Test func secretsAreGoneFromEverySinkAndRemovalsAreCounted() throws {
        let config = directory.write("scrub.yaml", """
            sources: { app: { type: stdin } }
            transforms:
              scrub:
                inputs: [app]
                steps:
                  - redact: { patterns: [credit_card, email, bearer_token, aws_key, jwt, secrets], fields: ["*"] }
                  - redact: { regex: 'token for \\S+', with: "token for ***" }
                  - remove: [headers.cookie]
                  - set: { env: test }
              thin:
                inputs: [scrub]
                steps:
                  - sample: { rate: 10, where: 'level == debug', key: trace_id }
                  - where: 'level >= info or exists(ctx)'
            sinks:
              out: { type: console, inputs: [thin] }
              archive: { type: archive, inputs: [scrub], path: "\(directory.path)/archive/{source}.ndjson.gz" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", lines())))
        #expect(sluice.wait().exitStatus == 0)
        let archived = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "gzip -dc \(directory.path)/archive/*.ndjson.gz"], stdin: .null)
        #expect(archived.wait().exitStatus == 0)
        let console = sluice.standardOutputLines
        let archive = archived.standardOutputLines
        #expect(archive.count == 2_000, "the archive takes scrub: every event")
        for (name, output) in [("console", console), ("archive", archive)] {
            let text = output.joined(separator: "\n")
            for secret in Self.secrets {
                #expect(!text.contains(secret), "\(name): \(secret) survived")
            }
            for lookAlike in Self.lookAlikes {
                #expect(text.contains(lookAlike), "\(name): \(lookAlike) was eaten")
            }
            #expect(!text.contains("c=1"), "\(name): headers.cookie removed")
            #expect(events(output).allSatisfy { $0["__invalid__"] == nil && $0["env"] as? String == "test" }, "\(name): valid JSON with env set")
        }
        // thin: debug events sampled 1 in 10 by trace (whole traces), everything else kept.
        let debug = events(console).filter { $0["level"] as? String == "debug" }.count
        #expect(debug > 0 && debug < 150, "\(debug) of 500 debug events kept at 1 in 10")
        #expect(console.count == 1_500 + debug)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["message"] as? String == "stopped; every event delivered", "\(summary)")
        let removed = (summary["removed_by_transforms"] as? [String: Any])?["thin"] as? [String: Any]
        #expect(removed?["1:sample sampled"] as? Int == 500 - debug, "\(summary)")
    }

    /// Ten seconds of two floods and a trickle through a throttle of 200 events/s per key: each
    /// flood is held to its burst plus 200 a second, the trickle (under the rate) passes whole,
    /// and every event the throttle removed is counted.
    @Test func aThrottleHoldsItsRatePerKeyOverTenSeconds() throws {
        let rate = 200.0, burst = 100.0
        let config = directory.write("throttle.yaml", """
            sources: { app: { type: stdin } }
            transforms:
              held: { inputs: [app], steps: [{ throttle: { events_per_second: \(Int(rate)), burst: \(Int(burst)), key: service } }] }
            sinks:
              out: { type: console, inputs: [held] }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        let flood = (0..<100).map { #"{"service":"a","n":\#($0)}"# + "\n" + #"{"service":"b","n":\#($0)}"# + "\n" }.joined()
        var written = ["a": 0, "b": 0, "c": 0]
        let started = Date()
        while Date().timeIntervalSince(started) < 10 {
            sluice.write(flood + #"{"service":"c"}"# + "\n")
            written["a", default: 0] += 100
            written["b", default: 0] += 100
            written["c", default: 0] += 1
            usleep(10_000)
        }
        let elapsed = Date().timeIntervalSince(started)
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        var kept: [String: Int] = [:]
        for event in events(sluice.standardOutputLines) { kept[event["service"] as? String ?? "?", default: 0] += 1 }
        for key in ["a", "b"] {
            let count = Double(kept[key] ?? 0)
            #expect(count >= rate * elapsed * 0.9 && count <= burst + rate * (elapsed + 0.5),
                    "\(key): \(Int(count)) kept over \(elapsed) s at \(rate)/s with a burst of \(burst)")
        }
        #expect(kept["c"] == written["c"], "the trickle stays under its own key's rate")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let removed = (summary["removed_by_transforms"] as? [String: Any])?["held"] as? [String: Any]
        let total = written.values.reduce(0, +), out = kept.values.reduce(0, +)
        #expect(removed?["1:throttle throttled"] as? Int == total - out, "\(String(describing: removed))")
    }

    @Test func mistakesInTransformsAreNamed() throws {
        let config = directory.write("bad.yaml", """
            sources: { app: { type: stdin } }
            transforms:
              a: { inputs: [b], steps: [{ remove: [x] }] }
              b: { inputs: [a], steps: [{ remove: [y] }] }
              c:
                inputs: [ap]
                steps:
                  - redact: { patterns: [credit_crad], regex: 'abc(' }
                  - rmove: [x]
            sinks: { out: { type: console, inputs: [c, nope] } }
            """)
        let validate = try SluiceBinary.launch(["validate", "--config", config], stdin: .null)
        #expect(validate.wait().exitStatus == 78)
        let errors = validate.standardError
        #expect(errors.contains("cycle"), "\(errors)")
        #expect(errors.contains(#"transforms.c.inputs: no source or transform is named "ap"; did you mean "app"?"#), "\(errors)")
        #expect(errors.contains(#"did you mean "credit_card"?"#), "\(errors)")
        #expect(errors.contains("transforms.c.steps.0.redact.regex") && errors.contains("column"), "\(errors)")
        #expect(errors.contains(#"did you mean "remove"?"#), "\(errors)")
        #expect(errors.contains(#"sinks.out.inputs: no source or transform is named "nope""#), "\(errors)")
    }
}
