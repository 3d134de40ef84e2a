import Foundation
import Glibc
import SluiceTesting
import Testing

/// Idle, slow and silent clients never exhaust Sluice: listeners cap their connections and
/// close slow or idle ones, descriptors are budgeted so `/metrics` always answers, and running
/// out of them never spins a core.
@Suite("connections: limits, timeouts, descriptors", .timeLimit(.minutes(10)), .watchdog)
struct ConnectionLimitTests {
    let directory = TemporaryDirectory()

    private func metric(_ port: Int, _ name: String) -> Double? {
        HTTPGet.metric((try? HTTPGet.get(port: port, path: "/metrics").body) ?? "", name)
    }

    /// The process's user and system CPU seconds so far (from /proc).
    private func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Whether the peer closed `descriptor` within `seconds` (a read returns 0 or fails).
    private func closedByPeer(_ descriptor: Int32, within seconds: Double) -> Bool {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&waiting, 1, Int32(seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) <= 0
    }

    /// 1,200 idle connections to the `otlp` source of a Sluice limited to 1,024 descriptors:
    /// before, they took every descriptor, `/metrics` stopped answering, the TCP source could not
    /// accept and two event-loop threads spun. Now the connections beyond the descriptor budget
    /// are closed as they come, `/metrics` answers, nothing spins, the idle ones are closed after
    /// `idle_timeout`, and then real clients are served.
    @Test(.requires("/usr/bin/prlimit"))
    func idleConnectionsNeverExhaustDescriptorsOrSpin() throws {
        let config = directory.write("flood.yaml", """
            sources:
              otel: { type: otlp, address: "127.0.0.1:0", idle_timeout: 4s }
              net: { type: tcp, address: "127.0.0.1:0" }
            sinks: { out: { type: blackhole } }
            metrics: { address: "127.0.0.1:0" }

            """)
        let sluice = try ChildProcess(
            executable: "/usr/bin/prlimit", arguments: ["--nofile=1024:1024", SluiceBinary.path, "--config", config],
            environment: SluiceBinary.environment(), stdin: .null
        )
        let otlp = try #require(sluice.listeningPort(of: "otel"))
        let tcp = try #require(sluice.listeningPort(of: "net"))
        let metrics = try #require(sluice.metricsPort())
        var idle: [Int32] = []
        defer { for descriptor in idle { close(descriptor) } }
        for _ in 0..<1_200 {
            guard let descriptor = try? SocketClient.tcp(port: otlp) else { break }
            idle.append(descriptor)
        }
        #expect(idle.count == 1_200)
        #expect(Eventually.wait(seconds: 30) { (metric(metrics, #"sluice_source_connections_refused_total{source="otel"}"#) ?? 0) > 0 })
        let status = try HTTPGet.get(port: metrics, path: "/healthz").status
        #expect(status == 200, "/healthz answers with every input descriptor in use")
        let before = cpuSeconds(sluice.pid)
        ChildProcess.pause(milliseconds: 2_000)
        let spent = cpuSeconds(sluice.pid) - before
        #expect(spent < 0.5, "\(spent) CPU seconds in 2 s with descriptors exhausted: spinning")
        // After idle_timeout every idle connection is closed, and real clients are served.
        #expect(Eventually.wait(seconds: 30) { (metric(metrics, #"sluice_source_connections{source="otel"}"#) ?? -1) == 0 })
        let writer = try SocketClient.tcp(port: tcp)
        SocketClient.send(writer, (0..<10).map { "line \($0)" }.joined(separator: "\n") + "\n")
        close(writer)
        #expect(Eventually.wait(seconds: 30) { metric(metrics, #"sluice_source_events_total{source="net"}"#) == 10 })
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 30).exitStatus == 0, "\(sluice.standardError.suffix(1000))")
    }

    /// A request head that never ends (slowloris), and a body shorter than its Content-Length:
    /// each connection is closed after its timeout, never held.
    @Test func slowHeadsAndShortBodiesAreClosedAfterTheirTimeouts() throws {
        let config = directory.write("slow.yaml", """
            sources: { otel: { type: otlp, address: "127.0.0.1:0", header_timeout: 2s, body_timeout: 2s } }
            sinks: { out: { type: blackhole } }
            metrics: { address: "127.0.0.1:0" }

            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "otel"))
        let slowHead = try SocketClient.tcp(port: port)
        defer { close(slowHead) }
        SocketClient.send(slowHead, "POST /v1/logs HTTP/1.1\r\nHost: x\r\n")
        let shortBody = try SocketClient.tcp(port: port)
        defer { close(shortBody) }
        SocketClient.send(shortBody, "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000000\r\n\r\nabc")
        #expect(closedByPeer(slowHead, within: 20), "a head that never ends is closed")
        #expect(closedByPeer(shortBody, within: 20), "a body that stops is closed")
        let metrics = try #require(sluice.metricsPort())
        #expect(metric(metrics, #"sluice_source_connections_timed_out_total{source="otel"}"#) == 2)
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 30).exitStatus == 0)
    }

    /// A TCP source at `max_connections` with every connection silent: before, every real client
    /// waited in the backlog for ever. Now a waiting client takes the place of the connection
    /// quiet longest (quiet 10 s or more).
    @Test func silentTCPConnectionsGiveWayToAWaitingClient() throws {
        let config = directory.write("silent.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0", max_connections: 4 } }
            sinks: { out: { type: console } }
            metrics: { address: "127.0.0.1:0" }

            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.listeningPort(of: "net"))
        var silent: [Int32] = []
        defer { for descriptor in silent { close(descriptor) } }
        for _ in 0..<4 { silent.append(try SocketClient.tcp(port: port)) }
        ChildProcess.pause(milliseconds: 500)
        let writer = try SocketClient.tcp(port: port)
        defer { close(writer) }
        SocketClient.send(writer, "from the real client\n")
        #expect(Eventually.wait(seconds: 40) { sluice.standardOutput.contains("from the real client") })
        let metrics = try #require(sluice.metricsPort())
        #expect(metric(metrics, #"sluice_source_connections_evicted_total{source="net"}"#) == 1)
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 30).exitStatus == 0)
    }
}

/// The `file` source keeps within `max_open_files` however many files appear at once, and reads
/// them all in turn, even near the process's descriptor limit.
@Suite("file source: descriptors within max_open_files", .timeLimit(.minutes(10)), .watchdog)
struct FileDescriptorLimitTests {
    let directory = TemporaryDirectory()

    /// Descriptors the process holds now.
    private func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// 5,000 files (50 directories of 100) renamed into place at once, `max_open_files: 1024`,
    /// under a 1,500-descriptor limit: before, 4,700 descriptors were opened, then it stopped at
    /// 1,480 files for good (TCP and /metrics starved) and said "every event delivered". Now
    /// every line of every file arrives, the source never holds more than its cap, and a TCP
    /// writer is served meanwhile.
    @Test(.requires("/usr/bin/prlimit"), arguments: [(5_000, 4), (22_000, 1)])
    func thousandsOfFilesAtOnceAreAllReadWithinTheCap(files: Int, linesPerFile: Int) throws {
        let logs = directory.path + "/logs"
        let staging = directory.path + "/staging"
        mkdir(logs, 0o755)
        mkdir(staging, 0o755)
        let directories = 50
        for index in 0..<directories { mkdir("\(logs)/d\(index)", 0o755) }
        let config = directory.write("files.yaml", """
            data_dir: "\(directory.path)/data"
            sources:
              app: { type: file, include: ["\(logs)/*/*.log"], max_open_files: 1024, glob_interval: 1s }
              net: { type: tcp, address: "127.0.0.1:0" }
            sinks: { out: { type: blackhole } }
            shutdown: { grace_period: 5s }
            metrics: { address: "127.0.0.1:0" }

            """)
        let sluice = try ChildProcess(
            executable: "/usr/bin/prlimit", arguments: ["--nofile=1500:1500", SluiceBinary.path, "--config", config],
            environment: SluiceBinary.environment(), stdin: .null
        )
        let metrics = try #require(sluice.metricsPort())
        let tcp = try #require(sluice.listeningPort(of: "net"))
        for index in 0..<files {
            let name = "f\(index).log"
            let text = (0..<linesPerFile).map { #"{"file":\#(index),"n":\#($0)}"# }.joined(separator: "\n") + "\n"
            directory.write("staging/\(name)", text)
            rename("\(staging)/\(name)", "\(logs)/d\(index % directories)/\(name)")
        }
        var peak = 0
        let total = Double(files * linesPerFile)
        // A bound against hanging, not a speed check: alone this reads 22,000 files in about
        // 30 s, beside the rest of the suite on two cores it once took past 120 s.
        let allRead = Eventually.wait(seconds: 300) {
            peak = max(peak, openDescriptors(sluice.pid))
            return HTTPGet.metric((try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? "", #"sluice_source_events_total{source="app"}"#) == total
        }
        #expect(allRead, "not every line arrived")
        #expect(peak <= 1024 + 150, "\(peak) descriptors open at the peak, cap 1024")
        let writer = try SocketClient.tcp(port: tcp)
        SocketClient.send(writer, "served\n")
        close(writer)
        #expect(Eventually.wait(seconds: 30) {
            HTTPGet.metric((try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? "", #"sluice_source_events_total{source="net"}"#) == 1
        })
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 60).exitStatus == 0, "\(sluice.standardError.suffix(1000))")
    }

    /// A file Sluice may not read is named once, not at every rescan (before: a warning every
    /// `glob_interval`). As root (CI), Sluice runs as `nobody` here, for whom the file is closed.
    @Test(.requires("/usr/bin/setpriv"))
    func anUnreadableFileIsNamedOnce() throws {
        let logs = directory.path + "/logs"
        mkdir(logs, 0o755)
        chmod(logs, 0o755)
        chmod(directory.path, 0o755)
        let readable = directory.write("logs/app.log", "hello\n")
        chmod(readable, 0o644)
        let secret = directory.write("logs/secret.log", "never read\n")
        chmod(secret, 0)
        mkdir(directory.path + "/data", 0o777)
        chmod(directory.path + "/data", 0o777)  // the umask took write away
        let config = directory.write("unreadable.yaml", """
            data_dir: "\(directory.path)/data"
            sources: { app: { type: file, include: ["\(logs)/*.log"], glob_interval: 300ms } }
            sinks: { out: { type: console } }

            """)
        chmod(config, 0o644)
        let asNobody = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SluiceBinary.path] : [SluiceBinary.path]
        let sluice = try ChildProcess(
            executable: asNobody[0], arguments: Array(asNobody.dropFirst()) + ["--config", config],
            environment: SluiceBinary.environment(["SLUICE_METRICS_ADDRESS": "127.0.0.1:0"]), stdin: .null
        )
        #expect(Eventually.wait(seconds: 30) { sluice.standardOutput.contains("hello") })
        ChildProcess.pause(milliseconds: 2_000)  // six rescans
        sluice.send(SIGTERM)
        #expect(sluice.wait(seconds: 30).exitStatus == 0, "\(sluice.standardError.suffix(800))")
        let warnings = sluice.standardErrorLines.filter { $0.contains("secret.log") }
        #expect(warnings.count == 1 && warnings[0].contains("Permission denied"), "\(warnings)")
    }
}
