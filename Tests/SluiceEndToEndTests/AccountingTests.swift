import Foundation
import Glibc
import SluiceTesting
import Testing

/// The books balance for every kind of source: what a source read is what went to the sinks
/// (or was stopped before it could), and what a sink took on is what it delivered, dropped or
/// left on disk. The exit summary checks it itself (a mismatch is an error and exit 1); each
/// test also checks the numbers it prints.
@Suite("accounting: every event read is accounted for, by source kind", .timeLimit(.minutes(10)), .watchdog)
struct AccountingTests {
    static let kinds = ["stdin", "exec", "fifo", "unix", "unix_dgram", "tcp", "udp", "file", "otlp"]
    static let count = 2_000

    @Test(arguments: kinds)
    func everyEventReadIsDeliveredDroppedOrWaiting(_ kind: String) throws {
        let directory = TemporaryDirectory()
        let lines = (0..<Self.count).map { #"{"n":\#($0),"kind":"\#(kind)"}"# }
        let input = directory.write("in.log", lines.joined(separator: "\n") + "\n")
        let source = switch kind {
        case "stdin": "{ type: stdin }"
        case "exec": "{ type: exec, command: [/bin/cat, \"\(input)\"] }"
        case "fifo": "{ type: fifo, path: \"\(directory.path)/in.fifo\" }"
        case "unix": "{ type: unix, path: \"\(directory.path)/in.sock\" }"
        case "unix_dgram": "{ type: unix_dgram, path: \"\(directory.path)/in.dgram\" }"
        case "tcp": "{ type: tcp, address: \"127.0.0.1:0\" }"
        case "udp": "{ type: udp, address: \"127.0.0.1:0\" }"
        case "file": "{ type: file, include: [\"\(input)\"] }"
        default: "{ type: otlp, address: \"127.0.0.1:0\" }"
        }
        let config = directory.write("accounting.yaml", """
            data_dir: "\(directory.path)/data"
            sources: { src: \(source) }
            sinks: { out: { type: blackhole } }
            shutdown: { grace_period: 2s }
            metrics: { address: "127.0.0.1:0" }

            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: kind == "stdin" ? .file(input) : .null)
        try feed(kind, lines: lines, input: input, directory: directory, sluice: sluice)
        if kind != "stdin" {
            // Everything sent is read (UDP and datagrams may lose some in the kernel: the
            // books must balance whatever arrived).
            // An `exec` source whose program ends is the only source: Sluice ends with it (the
            // release build before the first look at /metrics), and the summary tells the rest.
            let lossy = kind == "udp" || kind == "unix_dgram"
            #expect(Eventually.wait(seconds: 60) {
                sluice.hasExited || (metric(sluice, #"sluice_source_events_total{source="src"}"#) ?? 0) >= Double(lossy ? 1 : Self.count)
            })
            if lossy { ChildProcess.pause(milliseconds: 500) }
            if !sluice.hasExited { sluice.send(SIGTERM) }
        }
        #expect(sluice.wait(seconds: 60).exitStatus == 0, "\(sluice.standardError.suffix(1500))")
        let summary = events(sluice.standardErrorLines).last ?? [:]
        #expect(summary["unaccounted"] == nil, "\(summary)")
        let read = (summary["events_in"] as? [String: Any])?["src"] as? Int ?? -1
        let delivered = (summary["events_out"] as? [String: Any])?["out"] as? Int ?? -2
        #expect(read > 0 && read == delivered, "read \(read), delivered \(delivered): \(summary)")
        if kind != "udp" && kind != "unix_dgram" { #expect(read == Self.count) }
    }

    private func feed(_ kind: String, lines: [String], input: String, directory: TemporaryDirectory, sluice: ChildProcess) throws {
        let text = lines.joined(separator: "\n") + "\n"
        switch kind {
        case "fifo":
            let path = directory.path + "/in.fifo"
            #expect(Eventually.wait { access(path, F_OK) == 0 })
            let descriptor = open(path, O_WRONLY)
            _ = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        case "unix":
            let path = directory.path + "/in.sock"
            #expect(Eventually.wait { access(path, F_OK) == 0 })
            let descriptor = try SocketClient.unix(path: path)
            SocketClient.send(descriptor, text)
            close(descriptor)
        case "unix_dgram":
            let path = directory.path + "/in.dgram"
            #expect(Eventually.wait { access(path, F_OK) == 0 })
            let descriptor = try SocketClient.unix(path: path, datagram: true)
            for line in lines { SocketClient.send(descriptor, line) }
            close(descriptor)
        case "tcp":
            let port = try #require(sluice.listeningPort(of: "src"))
            let descriptor = try SocketClient.tcp(port: port)
            SocketClient.send(descriptor, text)
            close(descriptor)
        case "udp":
            let port = try #require(sluice.listeningPort(of: "src"))
            for line in lines { SocketClient.udp(port: port, line) }
        case "otlp":
            let port = try #require(sluice.listeningPort(of: "src"))
            let client = try ChildProcess(executable: "/usr/bin/env", arguments: [
                "python3", OTLPLimitTests.peer, "\(port)", "--requests", "4", "--records", "\(Self.count / 4)", "--body-bytes", "32",
            ], stdin: .null)
            #expect(client.wait(seconds: 120).exitStatus == 0, "\(client.standardError)")
            #expect(client.standardOutput.contains(#""statuses": [200, 200, 200, 200]"#), "\(client.standardOutput)")
        default:
            break
        }
    }

    private func metric(_ sluice: ChildProcess, _ name: String) -> Double? {
        guard let port = sluice.metricsPort() else { return nil }
        return HTTPGet.metric((try? HTTPGet.get(port: port, path: "/metrics").body) ?? "", name)
    }
}
