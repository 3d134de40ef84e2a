import Foundation
import Glibc
import SluiceTesting
import Testing

/// `sluice top` against a running Sluice: one line per component with `--once`, and the
/// full-screen view in an 80×24 `tmux` pane (captured, then quit with `q`).
@Suite("sluice top, against a running binary", .timeLimit(.minutes(10)), .watchdog)
struct TopTests {
    let directory = TemporaryDirectory()

    /// A Sluice reading a tcp source, with a blackhole and an http sink whose destination
    /// refuses (`drop_newest`, so it does not hold the source back): its metrics port and the
    /// tcp port.
    private func runningSluice() throws -> (sluice: ChildProcess, metrics: Int, input: Int) {
        let config = directory.write("top.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            transforms:
              errors: { inputs: [net], steps: [{ where: 'level >= error' }] }
            sinks:
              all: { type: blackhole, inputs: [net] }
              search: { type: http, inputs: [errors], url: "http://127.0.0.1:1/ingest", batch: { timeout: 50ms }, timeout: 200ms,
                        retry: { initial_backoff: 50ms, max_backoff: 100ms }, when_full: drop_newest }
            metrics: { address: "127.0.0.1:0", unhealthy_after: 300ms }
            shutdown: { grace_period: 200ms }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let metrics = try #require(sluice.metricsPort())
        let input = try #require(sluice.listeningPort(of: "net"))
        return (sluice, metrics, input)
    }

    /// Sends lines to the tcp source for `seconds`, one in ten an error.
    private func feed(port: Int, seconds: Double) throws {
        let client = try SocketClient.tcp(port: port)
        defer { close(client) }
        let end = ChildProcess.nowSeconds() + seconds
        var number = 0
        while ChildProcess.nowSeconds() < end {
            SocketClient.send(client, (0..<100).map { #"{"level":"\#(($0 + number) % 10 == 0 ? "error" : "info")","n":\#($0 + number)}"# }.joined(separator: "\n") + "\n")
            number += 100
            ChildProcess.pause(milliseconds: 20)
        }
    }

    @Test func onceGivesOneLinePerComponent() throws {
        let (sluice, metrics, input) = try runningSluice()
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let feeding = Thread { try? feed(port: input, seconds: 3) }
        feeding.start()
        ChildProcess.pause(milliseconds: 1_000)
        let top = try SluiceBinary.launch(["top", "--address", "127.0.0.1:\(metrics)", "--once"], stdin: .null)
        #expect(top.wait(seconds: 30).exitStatus == 0, "\(top.standardError)")
        let lines = top.standardOutputLines
        let source = try #require(lines.first { $0.hasPrefix("source net ") }, "\(lines)")
        let rate = Double(source.split(separator: " ").first { $0.hasPrefix("events_per_s=") }?.dropFirst("events_per_s=".count) ?? "") ?? 0
        #expect(rate > 100, "\(source)")
        #expect(lines.contains { $0.hasPrefix("transform errors in_per_s=") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("sink all events_per_s=") && $0.contains("state=delivering") }, "\(lines)")
        let search = try #require(lines.first { $0.hasPrefix("sink search ") }, "\(lines)")
        #expect(search.contains("state=failing") || search.contains("state=retrying"), "\(search)")
        #expect(search.contains("last_error=") && search.contains("refused"), "\(search)")
        #expect(search.contains("dropped_sink_busy_per_s="), "\(search)")
        #expect(lines.contains { $0.hasPrefix("ring occupied=") }, "\(lines)")

        let unreachable = try SluiceBinary.launch(["top", "--address", "127.0.0.1:1", "--once"], stdin: .null)
        #expect(unreachable.wait(seconds: 30).exitStatus == 1)
        #expect(unreachable.standardError.contains("cannot reach Sluice at 127.0.0.1:1"), "\(unreachable.standardError)")
    }

    @Test(.requires("tmux")) func theFullScreenViewFitsEightyByTwentyFourAndQuitsOnQ() throws {
        let tmux = try #require(ExternalTool.path("tmux"))
        let (sluice, metrics, input) = try runningSluice()
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let feeding = Thread { try? feed(port: input, seconds: 6) }
        feeding.start()
        let session = "sluice-top-\(getpid())"
        let socket = directory.path + "/tmux.sock"
        let status = directory.path + "/top.status"
        func run(_ arguments: [String]) throws -> ChildProcess {
            let process = try ChildProcess(executable: tmux, arguments: ["-S", socket] + arguments)
            _ = process.wait(seconds: 30)
            return process
        }
        _ = try run(["new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                     "\(SluiceBinary.path) top --address 127.0.0.1:\(metrics); echo $? > \(status); sleep 30"])
        defer { _ = try? run(["kill-server"]) }
        var screen = ""
        #expect(Eventually.wait(seconds: 20) {
            screen = (try? run(["capture-pane", "-p", "-t", session]).standardOutput) ?? ""
            return screen.contains("SINK") && screen.contains("search") && screen.contains("q quits")
        }, "the pane showed: \(screen)")
        let rows = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rows.allSatisfy { $0.count <= 80 }, "a row is wider than the pane")
        #expect(rows.contains { $0.hasPrefix("sluice top  127.0.0.1:\(metrics)") }, "\(screen)")
        #expect(rows.contains { $0.hasPrefix("net ") }, "\(screen)")
        #expect(rows.contains { $0.hasPrefix("errors ") }, "\(screen)")
        #expect(rows.contains { $0.hasPrefix("search ") && ($0.contains("failing") || $0.contains("retrying")) }, "\(screen)")
        #expect(screen.contains("last error:") && screen.contains("dropping"), "\(screen)")
        _ = try run(["send-keys", "-t", session, "q"])
        #expect(Eventually.wait(seconds: 10) { (try? String(contentsOfFile: status, encoding: .utf8)) != nil })
        #expect((try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let after = (try? run(["capture-pane", "-p", "-t", session]).standardOutput) ?? ""
        #expect(!after.contains("q quits"), "the alternate screen was left: \(after)")
    }
}
