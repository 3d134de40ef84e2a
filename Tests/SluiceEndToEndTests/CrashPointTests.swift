import Foundation
import Glibc
import SluiceTesting
import Testing

/// Every crash point, one at a time, as ALICE and CrashMonkey test file systems: a fixed
/// workload (a file read into an indexer behind a disk buffer with `sync: always`) is run once
/// to count its durable steps (writes, syncs, renames, unlinks, truncations of the buffer's and
/// the checkpoint's files); then, for every N, Sluice is killed just before its Nth step
/// (`SLUICE_TEST_CRASH_AT`) and started again: every line ends up indexed exactly once.
@Suite("crash points: every durable step of a disk buffer and a checkpoint", .timeLimit(.minutes(10)), .watchdog)
struct CrashPointTests {
    static let lines = 60

    private func run(_ config: String, environment: [String: String], server: FakeBulkServer, killsItself: Bool) throws -> ChildProcess {
        let sluice = try SluiceBinary.launch(["--config", config], environment: environment, stdin: .null)
        if killsItself {
            let died = Eventually.wait(seconds: 30) { sluice.hasExited || server.indexed.count == Self.lines }
            #expect(died)
            if !sluice.hasExited { sluice.send(SIGTERM) }
        } else {
            #expect(Eventually.wait(seconds: 30) { Set(numbers(server)).count == Self.lines }, "indexed \(Set(numbers(server)).count)")
            // Started (its signal handling in place), and what it had to deliver delivered.
            #expect(Eventually.wait(seconds: 30) { sluice.standardError.contains(#""message":"started""#) })
            ChildProcess.pause(milliseconds: 300)
            sluice.send(SIGTERM)
        }
        _ = sluice.wait(seconds: 30)
        return sluice
    }

    private func numbers(_ server: FakeBulkServer) -> [Int] {
        server.requests.flatMap { $0.items.compactMap { ($0.source["n"] as? String).flatMap(Int.init) ?? $0.source["n"] as? Int } }
    }

    @Test func aKillBeforeAnyDurableStepLosesAndDoublesNothing() throws {
        let directory = TemporaryDirectory()
        let log = directory.write("app.log", (0..<Self.lines).map { #"{"n":\#($0),"msg":"line \#($0)"}"# }.joined(separator: "\n") + "\n")
        func config(port: Int, data: String) -> String {
            directory.write("crash-\(port).yaml", """
                data_dir: "\(data)"
                sources: { app: { type: file, include: ["\(log)"] } }
                sinks:
                  search:
                    type: elasticsearch
                    endpoint: "http://127.0.0.1:\(port)"
                    index: logs
                    batch: { max_events: 20, timeout: 50ms }
                    buffer: { type: disk, max_bytes: 64MiB, sync: always }
                shutdown: { grace_period: 5s }
                metrics: { address: "127.0.0.1:0" }

                """)
        }
        // The dry run: how many durable steps the workload takes.
        let countFile = directory.path + "/steps"
        let dryPort = try SocketClient.freePort()
        let dryServer = try FakeBulkServer(port: dryPort)
        _ = try run(config(port: dryPort, data: directory.path + "/dry"), environment: ["SLUICE_TEST_CRASH_COUNT": countFile], server: dryServer, killsItself: false)
        dryServer.stop()
        let steps = try #require(Int((try String(contentsOfFile: countFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(steps >= 10, "the workload took only \(steps) durable steps")
        var crashed = 0
        for target in 1...(steps + 2) {
            let port = try SocketClient.freePort()
            let server = try FakeBulkServer(port: port)
            defer { server.stop() }
            let file = config(port: port, data: directory.path + "/data-\(target)")
            let first = try run(file, environment: ["SLUICE_TEST_CRASH_AT": "\(target)"], server: server, killsItself: true)
            if first.wait().signal == SIGKILL { crashed += 1 }
            let second = try run(file, environment: [:], server: server, killsItself: false)
            #expect(second.wait().exitStatus == 0, "crash point \(target): \(second.standardError.suffix(800))")
            let indexed = numbers(server)
            let stored = server.indexed
            #expect(Set(indexed) == Set(0..<Self.lines), "crash point \(target): \(Set(0..<Self.lines).subtracting(indexed).count) lines missing")
            #expect(stored.count == Self.lines && stored.values.allSatisfy { $0 == 1 }, "crash point \(target): \(stored.count) documents for \(Self.lines) lines; first run: \(first.standardError.suffix(1500)); second: \(second.standardError.suffix(1500))")
        }
        print("crash points exercised: \(crashed) of \(steps) durable steps (killed just before each)")
        #expect(crashed >= steps - 2, "only \(crashed) of \(steps) runs reached their crash point")
    }
}
