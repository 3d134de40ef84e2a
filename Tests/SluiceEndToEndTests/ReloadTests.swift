import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("SIGHUP: reopen files and reload, through the binary", .timeLimit(.minutes(3)), .watchdog)
struct ReloadTests {
    let directory = TemporaryDirectory()

    private func messages(_ sluice: ChildProcess) -> [String] {
        events(sluice.standardErrorLines).compactMap { $0["message"] as? String }
    }

    private func archived(_ paths: [String]) throws -> [String] {
        let gzip = try ChildProcess(executable: "/bin/gzip", arguments: ["-dc"] + paths)
        #expect(gzip.wait().exitStatus == 0)
        return gzip.standardOutputLines
    }

    /// logrotate's way: move the file away, send SIGHUP; Sluice finishes the moved file and
    /// writes a new one at the same path. Lines written throughout are all archived, once.
    @Test func aRotatedArchiveIsReopenedWithoutLosingALine() throws {
        let path = directory.path + "/out/app.ndjson.gz"
        let config = directory.write("rotate.yaml", """
            sources: { app: { type: stdin } }
            sinks: { archive: { type: archive, path: "\(path)", gzip_level: 1 } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config])
        sluice.write((0..<1000).map { #"{"n":\#($0)}"# + "\n" }.joined())
        #expect(Eventually.wait { FileManager.default.fileExists(atPath: path) })
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("files reopened") || messages(sluice).contains("configuration reloaded; files reopened") })
        sluice.write((1000..<2000).map { #"{"n":\#($0)}"# + "\n" }.joined())
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        let rotated = try archived([path + ".1"])
        let current = try archived([path])
        #expect(!rotated.isEmpty && !current.isEmpty)
        let numbers = events(rotated + current).compactMap { $0["n"] as? Int }
        #expect(numbers == Array(0..<2000))
    }

    /// logrotate sends SIGHUP daily: an alert in its cooldown must not fire again because of it.
    @Test func alertCooldownsSurviveAReloadUnlessTheRuleChanges() throws {
        let file = directory.path + "/alerts.yaml"
        let rules = """
            sources: { app: { type: stdin } }
            sinks:
              alerts:
                type: alert
                notifiers: { dev: { type: console } }
                rules: [{ name: errors, when: 'level >= error', cooldown: 1h, notify: [dev] }]
            """
        _ = directory.write("alerts.yaml", rules)
        let sluice = try SluiceBinary.launch(["--config", file])
        let metrics = try #require(sluice.metricsPort())
        let fired = { messages(sluice).filter { $0 == "alert firing: errors" }.count }
        let kept = { messages(sluice).filter { $0 == "alert state kept across the reload" }.count }
        let afresh = { messages(sluice).filter { $0 == "alert rules start afresh after the reload" }.count }
        let counted = { (name: String) in
            HTTPGet.metric((try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? "", #"sluice_alert_\#(name)_total{sink="alerts",rule="errors"}"#)
        }
        sluice.write(#"{"level":"error","n":1}"# + "\n")
        #expect(Eventually.wait { fired() == 1 })

        sluice.send(SIGHUP)
        #expect(Eventually.wait { kept() == 1 })
        sluice.write(#"{"level":"error","n":2}"# + "\n")
        #expect(Eventually.wait { counted("suppressed") == 1 }, "the second error falls in the carried cooldown")
        #expect(counted("matches") == 2, "counts continue")

        // A changed cooldown starts the rule afresh: the next error fires.
        _ = directory.write("alerts.yaml", rules.replacingOccurrences(of: "cooldown: 1h", with: "cooldown: 2h"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { afresh() == 1 })
        #expect(kept() == 1, "a changed rule's state is not reported as kept")
        sluice.write(#"{"level":"error","n":3}"# + "\n")
        #expect(Eventually.wait { fired() == 2 })
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(fired() == 2)
        let summary = events(sluice.standardErrorLines).last { $0["message"] as? String == "alert rule summary" }
        #expect(summary?["matches"] as? Int == 1, "counts restart with a changed rule")
    }

    @Test func aValidChangeAppliesAndAnInvalidOneKeepsTheRunningConfiguration() throws {
        let file = directory.path + "/live.yaml"
        let base = """
            sources: { app: { type: stdin } }
            sinks:
              console: { type: console, where: 'level >= error' }
            """
        _ = directory.write("live.yaml", base)
        let sluice = try SluiceBinary.launch(["--config", file])
        sluice.write(#"{"level":"info","n":1}"# + "\n" + #"{"level":"error","n":2}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 1 })

        // Valid: the filter widens, and a second sink appears.
        _ = directory.write("live.yaml", base.replacingOccurrences(of: "level >= error", with: "level >= info") + """

              errors: { type: archive, path: "\(directory.path)/errors.ndjson.gz", where: 'level >= error' }
            """)
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("configuration reloaded; files reopened") })
        sluice.write(#"{"level":"info","n":3}"# + "\n")
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })

        // Invalid: every problem is logged, and the running configuration stays.
        _ = directory.write("live.yaml", base + "\n  broken: { type: consol }\n")
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains("configuration reload failed; keeping the running configuration") })
        let failure = events(sluice.standardErrorLines).first { $0["message"] as? String == "configuration reload failed; keeping the running configuration" }
        #expect((failure?["problems"] as? [String])?.contains { $0.contains("sinks.broken.type") && $0.contains("did you mean \"console\"") } == true)

        // A change to sources is refused: it would cut connected writers off.
        _ = directory.write("live.yaml", base.replacingOccurrences(of: "type: stdin", with: "type: stdin, format: json"))
        sluice.send(SIGHUP)
        #expect(Eventually.wait { messages(sluice).contains { $0.hasPrefix("the reloaded configuration changes sources") } })

        sluice.write(#"{"level":"error","n":4}"# + "\n")
        sluice.closeStdin()
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["n"] as? Int } == [2, 3, 4])
        #expect(events(try archived([directory.path + "/errors.ndjson.gz"])).compactMap { $0["n"] as? Int } == [4])
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect((summary["events_out"] as? [String: Any])?["console"] as? Int == 3)
    }
}
