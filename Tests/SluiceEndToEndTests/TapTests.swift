import Foundation
import Glibc
import SluiceTesting
import Testing

/// `sluice tap` against a running binary: the lines it prints, line by line; its filter and
/// rate; a slow tap client that never holds the pipeline back; Ctrl-C.
@Suite("sluice tap, against a running binary", .timeLimit(.minutes(10)), .watchdog)
struct TapTests {
    let directory = TemporaryDirectory()

    /// A Sluice reading a tcp source through a transform that keeps errors, into blackholes.
    private func runningSluice() throws -> (sluice: ChildProcess, metrics: Int, input: Int) {
        let config = directory.write("tap.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            transforms:
              errors: { inputs: [net], steps: [{ where: 'level >= error' }] }
            sinks:
              all: { type: blackhole, inputs: [net] }
              alarms: { type: blackhole, inputs: [errors] }
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        return (sluice, try #require(sluice.metricsPort()), try #require(sluice.listeningPort(of: "net")))
    }

    /// `count` lines numbered from `first`, one in ten an error, sent in blocks of 100.
    private func send(port: Int, first: Int = 0, count: Int, pauseMilliseconds: Int = 0) throws {
        let client = try SocketClient.tcp(port: port)
        defer { close(client) }
        for block in stride(from: first, to: first + count, by: 100) {
            SocketClient.send(client, (block..<min(block + 100, first + count)).map { #"{"level":"\#($0 % 10 == 0 ? "error" : "info")","n":\#($0)}"# }.joined(separator: "\n") + "\n")
            if pauseMilliseconds > 0 { ChildProcess.pause(milliseconds: pauseMilliseconds) }
        }
    }

    private func tap(_ arguments: [String], metrics: Int) throws -> ChildProcess {
        let tap = try SluiceBinary.launch(["tap", "--address", "127.0.0.1:\(metrics)"] + arguments, stdin: .null)
        ChildProcess.pause(milliseconds: 300)  // subscribed before the events come
        return tap
    }

    @Test func aTransformsOutputAndASinksInputLineByLine() throws {
        let (sluice, metrics, input) = try runningSluice()
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let errors = try tap(["--inputs", "errors", "--rate", "100000/s"], metrics: metrics)
        let low = try tap(["--inputs", "all", "--where", "n < 500", "--rate", "100000/s"], metrics: metrics)
        try send(port: input, count: 5_000, pauseMilliseconds: 5)
        #expect(Eventually.wait(seconds: 20) { errors.standardOutputLines.count >= 500 && low.standardOutputLines.count >= 500 })
        for process in [errors, low] { process.send(SIGINT) }
        #expect(errors.wait(seconds: 20).exitStatus == 0, "\(errors.standardError)")
        #expect(low.wait(seconds: 20).exitStatus == 0, "\(low.standardError)")

        let tapped = events(errors.standardOutputLines)
        #expect(tapped.count == 500, "every error once: \(tapped.count)")
        #expect(tapped.allSatisfy { $0["component"] as? String == "errors" && $0["point"] as? String == "output" })
        let numbers = tapped.compactMap { ($0["event"] as? [String: Any])?["n"] as? Int }
        #expect(numbers == Array(stride(from: 0, to: 5_000, by: 10)), "the errors, in order")
        #expect(tapped.allSatisfy { ($0["event"] as? [String: Any])?["level"] as? String == "error" && ($0["event"] as? [String: Any])?["source"] as? String == "net" })
        #expect(errors.standardError.contains("sluice tap: 500 events, 0 dropped"), "\(errors.standardError)")

        let inputs = events(low.standardOutputLines)
        #expect(inputs.allSatisfy { $0["component"] as? String == "all" && $0["point"] as? String == "input" })
        #expect(inputs.compactMap { ($0["event"] as? [String: Any])?["n"] as? Int } == Array(0..<500))
    }

    @Test func theRateSamplesAndAnUnknownNameOrABadFilterIsNamed() throws {
        let (sluice, metrics, input) = try runningSluice()
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let sampled = try tap(["--rate", "20/s"], metrics: metrics)
        try send(port: input, count: 20_000, pauseMilliseconds: 10)
        sampled.send(SIGINT)
        #expect(sampled.wait(seconds: 20).exitStatus == 0)
        let count = sampled.standardOutputLines.count
        // 2 s of sending: the first 20 at once, then 20 a second (net's output and errors').
        #expect(count >= 20 && count <= 120, "\(count) lines at 20/s")
        #expect(sampled.standardError.contains("sampled out by --rate"), "\(sampled.standardError)")

        let unknown = try SluiceBinary.launch(["tap", "--address", "127.0.0.1:\(metrics)", "--inputs", "nope"], stdin: .null)
        #expect(unknown.wait(seconds: 20).exitStatus == 1)
        #expect(unknown.standardError.contains(#"no source, transform or sink is called "nope" (there are: net, errors, all, alarms)"#), "\(unknown.standardError)")
        let badFilter = try SluiceBinary.launch(["tap", "--address", "127.0.0.1:\(metrics)", "--where", "level >="], stdin: .null)
        #expect(badFilter.wait(seconds: 20).exitStatus == 1)
        #expect(badFilter.standardError.contains("answered 400: where:"), "\(badFilter.standardError)")
    }

    /// Given the running Sluice's configuration, `tap` (like `top`) takes its metrics address
    /// and token from there, environment included; without the token's value the admin API
    /// refuses it, and it says so.
    @Test func theAddressAndTokenComeFromTheConfiguration() throws {
        let port = try SocketClient.freePort()
        let config = directory.write("tokened.yaml", """
            sources: { net: { type: tcp, address: "127.0.0.1:0" } }
            sinks: { all: { type: blackhole } }
            metrics: { address: "127.0.0.1:\(port)", token: "${TAP_TOKEN}" }
            """)
        // The tests' environment points every Sluice at port 0; this one's is the configured.
        let environment = ["TAP_TOKEN": "t-\(getpid())", "SLUICE_METRICS_ADDRESS": "127.0.0.1:\(port)"]
        let sluice = try SluiceBinary.launch(["--config", config], environment: environment, stdin: .null)
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let input = try #require(sluice.listeningPort(of: "net"))
        let tap = try SluiceBinary.launch(["tap", "--config", config], environment: environment, stdin: .null)
        ChildProcess.pause(milliseconds: 300)
        try send(port: input, count: 50)
        #expect(Eventually.wait(seconds: 20) { tap.standardOutputLines.count >= 50 }, "\(tap.standardError)")
        tap.send(SIGINT)
        #expect(tap.wait(seconds: 20).exitStatus == 0)
        #expect(events(tap.standardOutputLines).allSatisfy { $0["component"] as? String == "net" })

        let refused = try SluiceBinary.launch(["tap", "--address", "127.0.0.1:\(port)"], stdin: .null)
        #expect(refused.wait(seconds: 20).exitStatus == 1)
        #expect(refused.standardError.contains("answered 401"), "\(refused.standardError)")
    }

    /// A tap client that stops reading: the pipeline goes on at full speed (every event reaches
    /// the sinks), the tap's queue drops, and the drop is said on the stream.
    @Test func aClientThatDoesNotReadNeverHoldsThePipelineBack() throws {
        let (sluice, metrics, input) = try runningSluice()
        defer {
            sluice.send(SIGTERM)
            _ = sluice.wait()
        }
        let client = try SocketClient.tcp(port: metrics)
        defer { close(client) }
        SocketClient.send(client, "GET /api/tap?rate=1000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        ChildProcess.pause(milliseconds: 300)
        try send(port: input, count: 300_000)
        var text = ""
        #expect(Eventually.wait(seconds: 60) {
            text = (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""
            return HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) == 300_000
        }, "the sinks got \(HTTPGet.metric(text, #"sluice_sink_events_total{sink="all"}"#) ?? -1) of 300000 while the tap was not read")
        // The stream says what it dropped every 100 ms it is read: read until it goes quiet.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var quietSince = ChildProcess.nowSeconds()
        let deadline = ChildProcess.nowSeconds() + 30
        while ChildProcess.nowSeconds() < deadline, ChildProcess.nowSeconds() - quietSince < 1.5 {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += buffer[0..<count]
                quietSince = ChildProcess.nowSeconds()
            } else {
                ChildProcess.pause(milliseconds: 20)
            }
        }
        let notices = String(decoding: received, as: UTF8.self).split(separator: "\n").filter { $0.contains(#"{"tap":{"dropped":"#) }
        let dropped = notices.reduce(0) { $0 + (Int($1.split(separator: ":")[2].prefix { $0.isNumber }) ?? 0) }
        print("tap: a client that did not read: \(dropped) dropped, said in \(notices.count) lines")
        #expect(dropped > 100_000, "the stream said: \(notices.prefix(5))")
    }
}
