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
