import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("sidecar sources: fifo, unix, tcp, udp, unix_dgram", .timeLimit(.minutes(10)), .watchdog)
struct SidecarSourceTests {
    let directory = TemporaryDirectory()

    private func start(_ yaml: String, environment: [String: String] = [:]) throws -> ChildProcess {
        let config = directory.write("sidecar.yaml", yaml)
        return try SluiceBinary.launch(["--config", config], environment: environment, stdin: .null)
    }

    private func waitUntilListening(_ sluice: ChildProcess, _ source: String) -> Bool {
        Eventually.wait { sluice.standardErrorLines.contains { $0.contains("\"listening\"") && $0.contains("\"source\":\"\(source)\"") } }
    }

    @Test func aFIFOSurvivesWritersThatComeAndGoAndKeepsEveryByte() throws {
        let fifo = directory.path + "/run/app.fifo"
        let sluice = try start("sources: { pipe: { type: fifo, path: \(fifo) } }\nsinks: { out: { type: console } }\n")
        #expect(Eventually.wait { access(fifo, F_OK) == 0 })
        var status = stat()
        #expect(stat(fifo, &status) == 0 && status.st_mode & 0o777 == 0o660)
        // Each writer opens, writes and closes; the next comes once the last one's lines are out
        // (a FIFO has no writer boundaries, so an unfinished line would otherwise run on into the
        // next writer's bytes).
        for (chunk, total) in [("one\ntwo\n", 2), ("half a line", 3), ("three\n", 4)] {
            let writer = open(fifo, O_WRONLY)
            try #require(writer >= 0)
            _ = Array(chunk.utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
            close(writer)
            #expect(Eventually.wait { sluice.standardOutputLines.count == total })
        }
        #expect(Eventually.wait { sluice.standardOutputLines.count == 4 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["message"] as? String } == ["one", "two", "half a line", "three"])
    }

    @Test func aUnixSocketServesManyClientsInOrderAndCleansUp() throws {
        let path = directory.path + "/sluice.sock"
        SocketClient.leaveStaleSocket(at: path)
        let sluice = try start("sources: { sock: { type: unix, path: \(path) } }\nsinks: { out: { type: console } }\n")
        #expect(waitUntilListening(sluice, "sock"))
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o660)
        let clients = 50, linesEach = 200
        let group = DispatchGroup()
        for client in 0..<clients {
            DispatchQueue.global().async(group: group) {
                guard let socket = try? SocketClient.unix(path: path) else { return }
                let text = (0..<linesEach).map { #"{"client":\#(client),"n":\#($0)}"# }.joined(separator: "\n") + "\n"
                SocketClient.send(socket, text)
                close(socket)
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(Eventually.wait { sluice.standardOutputLines.count == clients * linesEach })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        var last = [Int: Int]()
        var outOfOrder = 0
        for event in events(sluice.standardOutputLines) {
            let client = event["client"] as? Int ?? -1, number = event["n"] as? Int ?? -1
            if number <= last[client, default: -1] { outOfOrder += 1 }
            last[client] = number
        }
        #expect(outOfOrder == 0)
        #expect(last.count == clients)
        #expect(access(path, F_OK) != 0, "the socket file is removed on exit")
    }

    @Test func tcpWithOctetCountingAndAConnectionLimit() throws {
        let sluice = try start("""
            sources: { net: { type: tcp, address: "127.0.0.1:0", framing: octet_counting, max_connections: 2 } }
            sinks: { out: { type: console } }
            """)
        let port = try #require(sluice.listeningPort(of: "net"))
        let sockets = try (0..<3).map { _ in try SocketClient.tcp(port: port) }
        for (index, socket) in sockets.enumerated() {
            SocketClient.send(socket, "10 line\(index)\nwith5 next\(index)")
        }
        // The third client waits in the backlog until one of the first two closes.
        #expect(Eventually.wait { sluice.standardOutputLines.count == 4 })
        close(sockets[0])
        #expect(Eventually.wait { sluice.standardOutputLines.count == 6 })
        close(sockets[1])
        close(sockets[2])
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let messages = Set(events(sluice.standardOutputLines).compactMap { $0["message"] as? String })
        #expect(messages == ["line0\nwith", "line1\nwith", "line2\nwith", "next0", "next1", "next2"])
        #expect(sluice.standardError.contains("max_connections reached"))
    }

    @Test func anIdleTCPConnectionIsClosed() throws {
        let sluice = try start("sources: { net: { type: tcp, address: \"127.0.0.1:0\", idle_timeout: 200ms } }\nsinks: { out: { type: console } }\n")
        let port = try #require(sluice.listeningPort(of: "net"))
        let socket = try SocketClient.tcp(port: port)
        SocketClient.send(socket, "hello\npartial")
        var byte: UInt8 = 0
        #expect(recv(socket, &byte, 1, 0) == 0, "Sluice closes the idle connection")
        close(socket)
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["message"] as? String } == ["hello", "partial"])
    }

    private func startSyslogSources(_ logPath: String) throws -> (ChildProcess, udp: Int, tcp: Int) {
        let sluice = try start("""
            sources:
              udp: { type: udp, address: "127.0.0.1:0", format: syslog }
              devlog: { type: unix_dgram, path: \(logPath), format: syslog }
              tcp: { type: tcp, address: "127.0.0.1:0", format: syslog, framing: octet_counting }
            sinks: { out: { type: console } }
            """)
        let udp = try #require(sluice.listeningPort(of: "udp"))
        let tcp = try #require(sluice.listeningPort(of: "tcp"))
        #expect(waitUntilListening(sluice, "devlog"))
        return (sluice, udp, tcp)
    }

    @Test func syslogOverUDPAndAUnixDatagramSocket() throws {
        let logPath = directory.path + "/log.sock"
        let (sluice, port, _) = try startSyslogSources(logPath)
        SocketClient.udp(port: port, "<165>1 2024-06-01T00:00:00Z web1 shop 42 - - two\nlines")
        let devlog = try SocketClient.unix(path: logPath, datagram: true)
        SocketClient.send(devlog, "<11>Jun  1 00:00:00 worker[7]: disk failing")
        close(devlog)
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.contains { $0["message"] as? String == "two\nlines" && $0["appname"] as? String == "shop" && $0["source"] as? String == "udp" })
        #expect(output.contains { $0["appname"] as? String == "worker" && $0["level"] as? String == "error" && $0["source"] as? String == "devlog" })
    }

    /// util-linux's `logger`, the way hosts write syslog: to the /dev/log-shaped socket, and
    /// over TCP with octet counting (RFC 6587).
    @Test(.requires("logger")) func loggerOverTheDevLogSocketAndTCP() throws {
        let logPath = directory.path + "/log.sock"
        let (sluice, _, tcpPort) = try startSyslogSources(logPath)
        let local = try ChildProcess(executable: "/usr/bin/logger", arguments: ["-u", logPath, "-t", "cli", "from logger"])
        #expect(local.wait().exitStatus == 0)
        let overTCP = try ChildProcess(executable: "/usr/bin/logger", arguments: ["-T", "-n", "127.0.0.1", "-P", "\(tcpPort)", "-t", "tcpapp", "octet counted"])
        #expect(overTCP.wait().exitStatus == 0)
        #expect(Eventually.wait { sluice.standardOutputLines.count == 2 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.contains { $0["appname"] as? String == "cli" && $0["message"] as? String == "from logger" && $0["source"] as? String == "devlog" })
        #expect(output.contains { $0["appname"] as? String == "tcpapp" && $0["message"] as? String == "octet counted" && $0["source"] as? String == "tcp" })
    }

    @Test func labelsComeFromTheEnvironment() throws {
        let sluice = try start(
            "sources: { net: { type: tcp, address: \"127.0.0.1:0\", labels: { pod: \"${POD_NAME}\", app: shop } } }\nsinks: { out: { type: console } }\n",
            environment: ["POD_NAME": "shop-7d9f"]
        )
        let port = try #require(sluice.listeningPort(of: "net"))
        let socket = try SocketClient.tcp(port: port)
        SocketClient.send(socket, "{\"app\":\"own\"}\n")
        close(socket)
        #expect(Eventually.wait { sluice.standardOutputLines.count == 1 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let event = events(sluice.standardOutputLines).first ?? [:]
        #expect(event["pod"] as? String == "shop-7d9f")
        #expect(event["app"] as? String == "own")
    }
}
