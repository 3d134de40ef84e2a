import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("bad input over sockets", .timeLimit(.minutes(10)), .watchdog)
struct BadInputTests {
    let directory = TemporaryDirectory()

    @Test func noiseHugeLinesDeepJSONAndVanishingClientsAreEventsNeverCrashes() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let config = directory.write("bad.yaml", """
            sources:
              net: { type: tcp, address: "127.0.0.1:0", max_connections: 2000 }
              big: { type: tcp, address: "127.0.0.1:0" }
            sinks:
              out: { type: console, inputs: [net] }
              discard: { type: blackhole, inputs: [big] }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        let bigPort = try #require(sluice.listeningPort(of: "big"))

        // Binary noise: NULs, control bytes, invalid UTF-8, no newline until the end.
        var generator = SystemRandomNumberGenerator()
        var noise = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        noise = noise.map { $0 == 0x0A ? 0x0B : $0 } + [0x0A]
        let noisy = try SocketClient.tcp(port: port)
        SocketClient.send(noisy, noise)
        SocketClient.send(noisy, Array(#"{"deep":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 10_000) + [0x0A])
        SocketClient.send(noisy, "half a line, then the client vanishes")
        close(noisy)
        // A client that connects and says nothing.
        close(try SocketClient.tcp(port: port))

        // A 100 MiB line, cut into 1 MiB parts without holding it in memory.
        let huge = try SocketClient.tcp(port: bigPort)
        let megabyte = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
        for _ in 0..<100 { SocketClient.send(huge, megabyte) }
        SocketClient.send(huge, "\n")
        close(huge)

        // A thousand clients at once.
        let clients = try (0..<1000).map { _ in try SocketClient.tcp(port: port) }
        for (index, client) in clients.enumerated() { SocketClient.send(client, "client \(index)\n") }
        for client in clients { close(client) }

        #expect(Eventually.wait(seconds: 120) { sluice.standardOutputLines.count == 1003 })
        sluice.send(SIGTERM)
        let termination = sluice.wait(seconds: 120)
        #expect(termination.exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.allSatisfy { $0["__invalid__"] == nil })
        #expect(output.contains { $0["message"] as? String == "half a line, then the client vanishes" })
        #expect(output.contains { ($0["message"] as? String)?.hasPrefix(#"{"deep":[[["#) == true })
        #expect(Set(output.compactMap { $0["message"] as? String }.filter { $0.hasPrefix("client ") }).count == 1000)
        let summary = events(sluice.standardErrorLines).last ?? [:]
        let peak = summary["peak_rss_kib"] as? Int ?? .max
        #expect(peak < 64 * 1024, "peak RSS \(peak) KiB for a 100 MiB line")
        #expect((summary["events_in"] as? [String: Any])?["big"] as? Int == 100)
        #expect(((summary["input_problems"] as? [String: Any])?["big"] as? [String: Any])?["cut_line_parts"] as? Int == 100)
        #expect(((summary["input_problems"] as? [String: Any])?["net"] as? [String: Any])?["invalid_utf8_lines"] as? Int == 1)
    }

    /// CPU seconds (user + system) a process has used so far, from /proc.
    private static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return -1 }
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        // Fields 14 and 15 of stat(5); the slice starts at field 3.
        return Double((Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Out of descriptors (RLIMIT_NOFILE), `accept` fails with EMFILE while the listener stays
    /// readable: Sluice backs off instead of spinning, says so once, counts it, and accepts
    /// again once descriptors are free; the clients that waited lose nothing.
    @Test func runningOutOfDescriptorsBacksOffAndRecovers() throws {
        let config = directory.write("emfile.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks: { out: { type: console } }
            """)
        // A hard limit of 48 descriptors, which Sluice cannot raise.
        let sluice = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "ulimit -n 48 && exec \"$0\" \"$@\"", SluiceBinary.path, "--config", config],
            environment: SluiceBinary.environment(), stdin: .null
        )
        let port = try #require(sluice.listeningPort(of: "net"), "\(sluice.standardError)")
        let metrics = try #require(sluice.metricsPort())
        let clients = try (0..<80).map { _ in try SocketClient.tcp(port: port) }
        for (index, client) in clients.enumerated() { SocketClient.send(client, "client \(index)\n") }
        #expect(Eventually.wait { sluice.standardError.contains("cannot accept connections") })
        let before = Self.cpuSeconds(sluice.pid)
        ChildProcess.pause(milliseconds: 2000)
        let spent = Self.cpuSeconds(sluice.pid) - before
        #expect(spent >= 0 && spent < 0.5, "Sluice used \(spent) CPU seconds in 2 s while out of descriptors")
        for client in clients { close(client) }
        #expect(Eventually.wait(seconds: 30) { sluice.standardOutputLines.count == 80 }, "the clients that waited in the backlog lost lines")
        let text = try HTTPGet.get(port: metrics, path: "/metrics").body
        #expect((HTTPGet.metric(text, #"sluice_source_accept_errors_total{source="net"}"#) ?? 0) >= 1)
        // Every client gone, descriptors are free again: the next try finds the backlog empty.
        #expect(Eventually.wait { sluice.standardError.contains("accepting connections again") })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let messages = events(sluice.standardErrorLines).compactMap { $0["message"] as? String }
        #expect(messages.filter { $0.hasPrefix("cannot accept connections") }.count == 1, "said once per episode")
    }
}
