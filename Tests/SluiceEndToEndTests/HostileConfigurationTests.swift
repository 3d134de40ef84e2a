import Foundation
import Glibc
import SluiceTesting
import Testing

/// A careless or hostile configuration is refused with exit 78 and the place named, never a
/// crash or a runaway: YAML aliases that expand without bound, expressions nested past any
/// stack. And what Sluice says at its end is what happened.
@Suite("hostile configuration and honest endings, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct HostileConfigurationTests {
    let directory = TemporaryDirectory()

    /// Nine levels of ten aliases each (a billion values once expanded): before, `validate`
    /// and a normal run grew to 4 GB in 20 s. Now exit 78, naming where.
    @Test(arguments: ["values", "keys"])
    func yamlAliasesThatExpandWithoutBoundAreRefused(_ placement: String) throws {
        var lines = [#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ",") + "]")
        }
        if placement == "keys" { lines.append("j: { ? *i : 1 }") }
        lines.append("sinks: { out: { type: console } }")
        let file = directory.write("laughs-\(placement).yaml", lines.joined(separator: "\n") + "\n")
        for arguments in [["validate", "--config", file], ["--config", file]] {
            let sluice = try SluiceBinary.launch(arguments, stdin: .null)
            #expect(sluice.wait(seconds: 60).exitStatus == 78)
            let expected = placement == "keys" ? "\(file):10:" : "expands to more than 100000 values"
            #expect(sluice.standardError.contains(expected), "\(sluice.standardError.prefix(600))")
        }
        // Aliases within the limits still work.
        let modest = directory.write("modest.yaml", """
            common: &labels { service: checkout, team: payments }
            sources: { app: { type: stdin, labels: *labels } }
            sinks: { out: { type: console } }

            """)
        let validate = try SluiceBinary.launch(["validate", "--config", modest], stdin: .null)
        // `common` is not a key Sluice knows: the alias was read, the unknown key is named.
        #expect(validate.wait().exitStatus == 78)
        #expect(validate.standardError.contains("common"), "\(validate.standardError)")
        #expect(!validate.standardError.contains("alias"), "\(validate.standardError)")
    }

    /// 100,000 `not`, 100,000 `and` terms, 100,000 `!` from the environment: before, SIGSEGV in
    /// the parser or when the tree was released; now exit 78 naming the key.
    @Test(arguments: ["not", "and", "bang"])
    func expressionsNestedPastTheLimitAreRefusedNamingTheKey(_ shape: String) throws {
        let expression = switch shape {
        case "not": String(repeating: "not ", count: 100_000) + "level == error"
        case "and": Array(repeating: "level == error", count: 100_000).joined(separator: " and ")
        default: String(repeating: "!", count: 100_000) + "level == error"
        }
        var environment: [String: String] = [:]
        var sink = "out: { type: console, where: '\(expression)' }"
        if shape == "bang" {
            environment["SLUICE_SINKS_OUT_WHERE"] = expression
            sink = "out: { type: console, where: 'level == info' }"
        }
        let file = directory.write("deep-\(shape).yaml", "sources: { app: { type: stdin } }\nsinks: { \(sink) }\n")
        let sluice = try SluiceBinary.launch(["validate", "--config", file], environment: environment, stdin: .null)
        let termination = sluice.wait(seconds: 60)
        #expect(termination.signal == nil, "crashed with signal \(termination.signal ?? 0)")
        #expect(termination.exitStatus == 78)
        #expect(sluice.standardError.contains("sinks.out.where: nested more than 128 deep"), "\(sluice.standardError.prefix(400))")
        #expect(sluice.standardError.utf8.count < 4_000, "the expression is quoted around the column, not whole")
    }

    /// A source that cannot bind: exit 1, and the last line says which source failed and why
    /// (before: "stopped; every event delivered").
    @Test func aSourceThatCannotBindIsNamedInTheLastLine() throws {
        let (taken, port) = try SocketClient.listener()
        defer { close(taken) }
        let file = directory.write("bind.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:\(port)" } }
            sinks: { out: { type: console } }

            """)
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .null)
        #expect(sluice.wait(seconds: 30).exitStatus == 1)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let message = summary["message"] as? String ?? ""
        #expect(message.hasPrefix("stopped; a source failed (net)"), "\(summary)")
        #expect("\(summary["source_failures"] ?? "")".contains("Address already in use"), "\(summary)")
    }

    /// An archive that cannot write under `drop_newest` says what its policy does (before: it
    /// logged "holding the sources back", which `drop_newest` never does).
    @Test func aFailingArchiveUnderDropNewestSaysWhatItsPolicyDoes() throws {
        let blocked = directory.path + "/not-a-directory"
        _ = directory.write("not-a-directory", "a file where the archive wants a directory\n")
        let file = directory.write("archive.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              archive: { type: archive, path: "\(blocked)/app.ndjson.gz", when_full: drop_newest, flush_interval: 100ms }
            shutdown: { grace_period: 1s }

            """)
        let sluice = try SluiceBinary.launch(["--config", file], stdin: .pipe)
        sluice.write("one\ntwo\n")
        #expect(Eventually.wait(seconds: 30) { sluice.standardError.contains("archive") && sluice.standardError.contains("failed") })
        sluice.closeStdin()
        _ = sluice.wait(seconds: 30)
        #expect(!sluice.standardError.contains("holding the sources back"), "\(sluice.standardError.suffix(1500))")
    }
}

/// Regular expressions at PCRE2's limit fail closed: a redaction that cannot finish replaces
/// the whole value, a condition that cannot be checked lets nothing through, `validate` warns
/// about patterns built to backtrack, and such lines cost milliseconds, not seconds.
@Suite("regular expressions at their limits, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct RegexLimitTests {
    let directory = TemporaryDirectory()

    /// Before: the line passed through unredacted (`hunter2` in the output), the `=~` sink did not
    /// get it and the `!~` sink did, at 45 lines/s.
    @Test func aRedactionOrAConditionStoppedAtTheLimitFailsClosed() throws {
        let config = directory.write("redos.yaml", """
            sources: { app: { type: stdin, format: plain } }
            transforms:
              scrub: { inputs: [app], steps: [{ redact: { regex: '(a+)+c|hunter2' } }] }
            sinks:
              redacted: { type: archive, inputs: [scrub], path: "\(directory.path)/redacted.ndjson.gz" }
              matching: { type: archive, where: 'message =~ /(a+)+c/', path: "\(directory.path)/matching.ndjson.gz" }
              notMatching: { type: archive, where: 'message !~ /(a+)+c/', path: "\(directory.path)/not-matching.ndjson.gz" }
            metrics: { address: "127.0.0.1:0" }

            """)
        let hostile = String(repeating: "a", count: 30) + "b password hunter2, c"
        let lines = Array(repeating: hostile, count: 200) + ["plain line", "another hunter2 here"]
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .file(directory.write("in.log", lines.joined(separator: "\n") + "\n")))
        #expect(sluice.wait(seconds: 120).exitStatus == 0, "\(sluice.standardError.suffix(1000))")
        let redacted = try RoutingModelTests.archived(directory.path + "/redacted.ndjson.gz").compactMap { $0["message"] as? String }
        #expect(redacted.count == 202)
        #expect(!redacted.contains { $0.contains("hunter2") }, "a secret passed through")
        #expect(redacted.filter { $0 == "[REDACTED]" }.count == 200, "the whole hostile value is replaced")
        #expect(redacted.contains("another [REDACTED] here") && redacted.contains("plain line"))
        // No event ever reached the `=~` sink: it made no file.
        #expect(access(directory.path + "/matching.ndjson.gz", F_OK) != 0)
        let notMatching = try RoutingModelTests.archived(directory.path + "/not-matching.ndjson.gz").compactMap { $0["message"] as? String }
        #expect(notMatching == ["plain line", "another hunter2 here"], "a condition that cannot be checked lets nothing through")
    }

    @Test func validateWarnsAboutNestedQuantifiers() throws {
        let config = directory.write("warn.yaml", """
            sources: { app: { type: stdin, multiline: { start: '^(\\\\d+-)+\\\\d+ ' } } }
            transforms:
              scrub: { inputs: [app], steps: [{ redact: { regex: '(a+)+c' } }] }
            sinks:
              out: { type: console, inputs: [scrub], where: 'message =~ /(x*)*y/' }
              safe: { type: console, where: 'message =~ /timeout|refused/' }

            """)
        let validate = try SluiceBinary.launch(["validate", "--config", config], stdin: .null)
        #expect(validate.wait().exitStatus == 0)
        let notes = validate.standardOutputLines.filter { $0.hasPrefix("# note:") && $0.contains("nested quantifier") }
        #expect(notes.count == 3, "\(notes)")
        #expect(notes.contains { $0.contains("transforms.scrub.steps.0.redact.regex") })
        #expect(notes.contains { $0.contains("sinks.out.where") })
        #expect(notes.contains { $0.contains("sources.app.multiline.start") })
    }
}
