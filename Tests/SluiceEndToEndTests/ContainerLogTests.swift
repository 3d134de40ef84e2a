import Foundation
import Glibc
import SluiceTesting
import Testing

/// Container runtime logs through the binary: the CRI format and Docker's json-file, written by
/// a generator that follows each format's definition, partial lines included.
@Suite("file source: cri and docker container logs", .timeLimit(.minutes(10)), .watchdog)
struct ContainerLogTests {
    let directory = TemporaryDirectory()

    /// What a container wrote, line by line, on which stream.
    private static let output: [(stream: String, line: String)] = [
        ("stdout", #"{"level":"info","msg":"listening","port":8080}"#),
        ("stderr", #"Exception in thread "main" java.lang.IllegalStateException: payment declined for order 1234"#),
        ("stdout", "GET /health 200"),
        ("stderr", "\tat com.example.shop.Checkout.pay(Checkout.java:42)"),
        ("stderr", "\tat com.example.shop.Main.main(Main.java:7)"),
        ("stdout", String(repeating: "x", count: 40_000)),
        ("stderr", "Caused by: java.io.IOException: connection reset by peer"),
        ("stderr", "\t... 2 more"),
        ("stdout", "GET /health 200 again"),
        ("stderr", "shutting down"),
    ]

    /// The time of line `n`: nanoseconds, as the runtimes write it.
    private static func time(_ n: Int) -> String { "2026-11-27T07:42:18.\(String(100_000_000 + n * 1_000_000 + 123))Z" }
    private static func millisecondTime(_ n: Int) -> String { "2026-11-27T07:42:18.\(String(100 + n))Z" }

    /// Splits `line` into the parts a runtime writes: CRI at any byte (here at 16 KiB and,
    /// for the trace's first line, in three), Docker at 16 KiB.
    private static func parts(_ line: String, index: Int) -> [String] {
        let bytes = Array(line.utf8)
        let size = index == 1 ? 30 : 16_384
        return stride(from: 0, to: max(bytes.count, 1), by: size).map { String(decoding: bytes[$0..<min($0 + size, bytes.count)], as: UTF8.self) }
    }

    private static func cri() -> String {
        var text = ""
        for (index, entry) in output.enumerated() {
            let pieces = parts(entry.line, index: index)
            for (position, piece) in pieces.enumerated() {
                text += "\(time(index)) \(entry.stream) \(position == pieces.count - 1 ? "F" : "P") \(piece)\n"
            }
        }
        return text + "not a cri line at all\n"
    }

    private static func docker() -> String {
        var text = ""
        for (index, entry) in output.enumerated() {
            let pieces = parts(entry.line, index: index)
            for (position, piece) in pieces.enumerated() {
                let log = String(data: try! JSONSerialization.data(withJSONObject: [piece + (position == pieces.count - 1 ? "\n" : "")], options: [.withoutEscapingSlashes]), encoding: .utf8)!.dropFirst().dropLast()
                text += #"{"log":\#(log),"stream":"\#(entry.stream)","time":"\#(time(index))"}"# + "\n"
            }
        }
        return text
    }

    private func run(format: String, content: String, path: String) throws -> [[String: Any]] {
        var prefix = ""
        for part in path.split(separator: "/").dropLast() {
            prefix += "/" + part
            mkdir(directory.path + prefix, 0o755)
        }
        let config = directory.write("\(format).yaml", """
            data_dir: \(directory.path)/data-\(format)
            sources:
              pods:
                type: file
                include: ["\(directory.path)/**/*.log"]
                format: \(format)
                multiline: { preset: java, timeout: 200ms }
            sinks: { out: { type: console } }
            metrics: { enabled: false }
            """)
        directory.write(path, content)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait { sluice.standardOutputLines.count >= 6 })
        ChildProcess.pause(milliseconds: 500)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        return events(sluice.standardOutputLines)
    }

    private func checkEvents(_ events: [[String: Any]], format: String) {
        let messages = events.compactMap { $0["message"] as? String ?? $0["msg"] as? String }
        let trace = [1, 3, 4, 6, 7].map { Self.output[$0].line }.joined(separator: "\n")
        let expected = [
            "listening", trace, "GET /health 200", String(repeating: "x", count: 40_000), "GET /health 200 again", "shutting down",
        ]
        for message in expected {
            #expect(messages.filter { $0 == message }.count == 1, "\(format): \(message.prefix(60)) in \(messages.map { $0.prefix(60) })")
        }
        let traceEvent = events.first { ($0["message"] as? String) == trace }
        #expect(traceEvent?["stream"] as? String == "stderr", "\(format)")
        #expect(traceEvent?["@timestamp"] as? String == Self.millisecondTime(1), "\(format): the runtime's time of the trace's first line")
        let json = events.first { $0["msg"] as? String == "listening" }
        #expect(json?["port"] as? Int == 8080 && json?["stream"] as? String == "stdout", "\(format): the message's own JSON is parsed")
        #expect(json?["k8s.namespace"] as? String == "shop" && json?["k8s.pod"] as? String == "checkout-1", "\(format): \(json ?? [:])")
        #expect(json?["k8s.container"] as? String == "web", "\(format)")
    }

    @Test func criPartialLinesAndAJavaTraceBecomeWholeEvents() throws {
        let events = try run(format: "cri", content: Self.cri(), path: "pods/shop_checkout-1_0b1c-22/web/0.log")
        checkEvents(events, format: "cri")
        #expect(events.contains { $0["message"] as? String == "not a cri line at all" }, "a malformed line is kept whole")
        #expect(events.first?["k8s.pod_uid"] as? String == "0b1c-22")
    }

    @Test func dockerJSONFilePartialsAreJoined() throws {
        let id = String(repeating: "ab", count: 32)
        let events = try run(format: "docker", content: Self.docker(), path: "containers/checkout-1_shop_web-\(id).log")
        checkEvents(events, format: "docker")
        #expect(events.allSatisfy { $0["k8s.pod_uid"] == nil }, "the containers/ layout has no pod uid")
    }

    /// The kubelet's `/var/log/containers` symlinks: followed, their target's writes noticed
    /// (its directory is watched too), metadata from the link's name. With `start_at: end`, what
    /// a file held at start is skipped, but a file that appears later is read from its start.
    @Test func symlinksAreFollowedAndStartAtEndSkipsOnlyWhatWasThereAtStart() throws {
        let id = String(repeating: "cd", count: 32)
        for path in ["pods", "pods/shop_cart-2_u-9", "pods/shop_cart-2_u-9/api", "containers"] { mkdir(directory.path + "/" + path, 0o755) }
        let target = directory.write("pods/shop_cart-2_u-9/api/0.log", "\(Self.time(0)) stdout F old line\n")
        symlink(target, directory.path + "/containers/cart-2_shop_api-\(id).log")
        let config = directory.write("links.yaml", """
            data_dir: \(directory.path)/data-links
            sources:
              pods: { type: file, include: ["\(directory.path)/containers/*.log"], format: cri, start_at: end, glob_interval: 60s }
            sinks: { out: { type: console } }
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        let port = try #require(sluice.metricsPort())
        #expect(Eventually.wait { (try? HTTPGet.get(port: port, path: "/readyz").status) == 200 })
        let appended = open(target, O_WRONLY | O_APPEND)
        _ = Array("\(Self.time(1)) stderr F new line\n".utf8).withUnsafeBytes { write(appended, $0.baseAddress, $0.count) }
        close(appended)
        // A container started after Sluice: its link appears, and its file is read whole.
        mkdir(directory.path + "/pods/shop_cart-3_u-8", 0o755)
        mkdir(directory.path + "/pods/shop_cart-3_u-8/api", 0o755)
        let later = directory.write("pods/shop_cart-3_u-8/api/0.log", "\(Self.time(2)) stdout F first line of a later pod\n")
        symlink(later, directory.path + "/containers/cart-3_shop_api-\(id).log")
        #expect(Eventually.wait { sluice.standardOutputLines.count >= 2 })
        ChildProcess.pause(milliseconds: 300)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        #expect(output.compactMap { $0["message"] as? String }.sorted() == ["first line of a later pod", "new line"], "\(output)")
        let newLine = output.first { $0["message"] as? String == "new line" }
        #expect(newLine?["k8s.pod"] as? String == "cart-2" && newLine?["k8s.container"] as? String == "api", "\(newLine ?? [:])")
        #expect(newLine?["stream"] as? String == "stderr")
        #expect((newLine?["file"] as? String)?.hasSuffix("/containers/cart-2_shop_api-\(id).log") == true)
    }
}
