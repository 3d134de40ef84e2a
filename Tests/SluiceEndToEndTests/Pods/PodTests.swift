import Glibc
import SluiceTesting
import Testing

/// Every manifest in Config/deploy/kubernetes, run in a pod with `podman play kube` on the image
/// the Dockerfile builds (`.ci/container-image`): every line the app wrote arrives once, the
/// probes answer, Sluice's root filesystem is read-only, stopping the pod as the kubelet does
/// (SIGTERM to every container, SIGKILL past the grace period: `PlayedManifest.stop`) finds it
/// drained within the grace period, and Sluice's peak memory stays far under the pod's 128Mi
/// limit.
@Suite("every manifest in a pod (podman play kube)", .serialized, .timeLimit(.minutes(10)), .watchdog)
struct PodTests {
    /// Half the 128Mi limit: "never approached".
    static let memoryBoundKiB = 65_536

    @Test func aFIFOSidecarArchivesAndIndexesEveryLine() throws {
        guard PodHarness.ready() else { return }
        let stopped = try expectSidecarIndexesEveryLine(
            manifest: "sidecar-fifo.yaml", app: "checkout", appImage: "registry.example.com/checkout:1.4.2",
            moreReplacements: ["--env", "POD_NAMESPACE=default"]
        )
        #expect(stopped.contains(#""archive":\#(PodHarness.lines)"#), "the archive took every line: \(stopped)")
    }

    @Test func wrapModeAsTheEntrypointPrintsEveryLineAndPassesTheStatusOn() throws {
        guard PodHarness.ready() else { return }
        let pod = try PlayedManifest(manifest: "wrap-entrypoint.yaml", pod: "billing-pod-0", sluiceContainer: "billing", replacements: [
            "--image", "registry.example.com/billing-with-sluice:2.0.1=\(PodHarness.appImage)",
            "--env", "ALERT_WEBHOOK_URL=http://127.0.0.1:9/hook",
        ])
        #expect(Eventually.wait(seconds: 60) { PodHarness.podman(["logs", pod.container]).output.contains(#""msg":"line \#(PodHarness.lines)""#) })
        try expectProbesAndReadOnlyRoot(pod, container: pod.container)
        let ending = pod.stop()
        let events = ending.log.split(separator: "\n").filter { $0.contains(#""app":"billing""#) }
        let messages = Set(events.compactMap { event in event.firstRange(of: #""msg":""#).map { event[$0.upperBound...].prefix { $0 != "\"" } } })
        #expect(events.count == PodHarness.lines, "each line once on the console: \(events.count)")
        #expect(messages.count == events.count)
        #expect(ending.seconds < 30, "drained within terminationGracePeriodSeconds: \(ending.seconds) s")
        let stopped = try #require(ending.log.split(separator: "\n").last { $0.contains(#""logger":"sluice""#) && $0.contains("stopped") })
        #expect(stopped.contains("every event delivered"), "\(stopped)")
        #expect(peakResidentKiB(stopped).map { $0 < Self.memoryBoundKiB } == true, "\(stopped)")
        #expect(ending.exitStatus == "0", "the app's status (0 on SIGTERM) is the container's")
    }

    @Test func aSidecarTailingASharedFileIndexesEveryLine() throws {
        guard PodHarness.ready() else { return }
        _ = try expectSidecarIndexesEveryLine(manifest: "sidecar-file.yaml", app: "web", appImage: "registry.example.com/web:3.1.0")
    }

    @Test func anAppSendingOTLPToItsSidecarOnLocalhostLosesNothing() throws {
        guard PodHarness.ready() else { return }
        _ = try expectSidecarIndexesEveryLine(manifest: "sidecar-otlp.yaml", app: "orders", appImage: "registry.example.com/orders:5.0.2")
    }

    @Test func theDaemonSetIndexesEveryPodsCRIFileOnce() throws {
        guard PodHarness.ready() else { return }
        let indexer = try FakeBulkServer()
        let node = TemporaryDirectory()
        let logs = node.path + "/pods"
        let state = node.path + "/state"
        _ = mkdir(logs, 0o755)
        _ = mkdir(state, 0o755)
        // Two pods' containers as the kubelet writes them, mode 0640 (root's): full lines, and
        // lines the runtime split (P ... F), which Sluice joins.
        var expected = Set<String>()
        for (pod, container) in [("shop_cart-7d9_1111", "cart"), ("shop_pay-5c2_2222", "pay")] {
            let directory = "\(logs)/\(pod)/\(container)"
            _ = mkdir("\(logs)/\(pod)", 0o755)
            _ = mkdir(directory, 0o755)
            var text = ""
            for index in 1...PodHarness.lines {
                let message = "\(container) line \(index)"
                expected.insert(message)
                if index % 10 == 0 {
                    text += "2026-12-06T10:00:00.000000001Z stdout P {\"level\":\"info\",\"msg\":\"\(container)\n"
                    text += "2026-12-06T10:00:00.000000002Z stdout F  line \(index)\"}\n"
                } else {
                    text += "2026-12-06T10:00:00.000000001Z stdout F {\"level\":\"info\",\"msg\":\"\(message)\"}\n"
                }
            }
            node.write("pods/\(pod)/\(container)/0.log", text)
            _ = chmod("\(directory)/0.log", 0o640)
        }
        let pod = try PlayedManifest(manifest: "daemonset-node-logs.yaml", pod: "sluice-node", sluiceContainer: "sluice", replacements: [
            "--host-path", "/var/log/pods=\(logs)", "--host-path", "/var/lib/sluice=\(state)",
            "--env", "NODE_NAME=node-1", "--env", "ELASTICSEARCH_URL=\(indexer.url)", "--env", "ELASTICSEARCH_API_KEY=test-key",
        ])
        let arrived = Eventually.wait(seconds: 90) { Self.messages(indexer).count >= expected.count }
        let messages = Self.messages(indexer)
        #expect(arrived, "\(messages.count) of \(expected.count) lines indexed")
        #expect(expected.subtracting(messages).isEmpty, "\(expected.subtracting(messages).count) missing, such as \(expected.subtracting(messages).sorted().prefix(5))")
        #expect(indexer.indexed.values.allSatisfy { $0 == 1 }, "an event indexed twice")
        try expectProbesAndReadOnlyRoot(pod, container: pod.container)
        _ = try expectCleanDrain(pod)
    }

    // MARK: What every pod must show

    /// A Deployment whose app writes its lines and whose Sluice container (`sluice`) indexes
    /// them: every line once, the probes, a read-only root, a clean drain. Returns Sluice's last
    /// log line.
    private func expectSidecarIndexesEveryLine(manifest: String, app: String, appImage: String, moreReplacements: [String] = []) throws -> String {
        let indexer = try FakeBulkServer()
        let pod = try PlayedManifest(manifest: manifest, pod: "\(app)-pod-0", sluiceContainer: "sluice", replacements: [
            "--image", "\(appImage)=\(PodHarness.appImage)",
            "--env", "ELASTICSEARCH_URL=\(indexer.url)", "--env", "ELASTICSEARCH_API_KEY=test-key",
        ] + moreReplacements)
        try expectEveryLineIndexed(by: indexer, app: app, pod: pod)
        try expectProbesAndReadOnlyRoot(pod, container: pod.container)
        return try expectCleanDrain(pod)
    }

    /// The `msg` of every indexed event (`message` after OTLP, whose record body it became).
    static func messages(_ indexer: FakeBulkServer) -> [String] {
        indexer.requests.flatMap(\.items).compactMap { ($0.source["msg"] ?? $0.source["message"]) as? String }
    }

    private func expectEveryLineIndexed(by indexer: FakeBulkServer, app: String, pod: PlayedManifest) throws {
        let expected = Set((1...PodHarness.lines).map { "line \($0)" })
        let arrived = Eventually.wait(seconds: 90) { Self.messages(indexer).count >= expected.count }
        let messages = Self.messages(indexer)
        if !arrived {
            print(PodHarness.podman(["logs", "--tail", "20", pod.container]).output)
            print("an indexed event: \(String(describing: indexer.requests.first?.items.first?.source))")
        }
        #expect(arrived, "\(messages.count) of \(expected.count) lines indexed")
        #expect(expected.subtracting(messages).isEmpty, "\(expected.subtracting(messages).count) missing, such as \(expected.subtracting(messages).sorted().prefix(5))")
        #expect(messages.count == expected.count, "each line once: \(messages.count) indexed")
        #expect(indexer.indexed.values.allSatisfy { $0 == 1 }, "an event indexed twice")
    }

    /// `/healthz` and `/readyz` answer 200 with the indexer up, and Sluice's container runs with
    /// a read-only root filesystem (which it then never needed to write).
    private func expectProbesAndReadOnlyRoot(_ pod: PlayedManifest, container: String) throws {
        let health = try HTTPGet.get(port: 9880, path: "/healthz")
        #expect(health.status == 200, "/healthz: \(health)")
        let ready = try HTTPGet.get(port: 9880, path: "/readyz")
        #expect(ready.status == 200, "/readyz: \(ready)")
        #expect(pod.inspect(container, "{{.HostConfig.ReadonlyRootfs}}") == "true")
    }

    /// SIGTERM (the kubelet's stop) ends Sluice within the grace period, having delivered
    /// everything, under the memory bound, with status 0. Returns Sluice's last log line.
    private func expectCleanDrain(_ pod: PlayedManifest) throws -> String {
        let ending = pod.stop()
        #expect(ending.seconds < 30, "drained within terminationGracePeriodSeconds: \(ending.seconds) s")
        let stopped = try #require(ending.log.split(separator: "\n").last { $0.contains("\"stopped") }, "no final line: \(ending.log.suffix(1_500))")
        #expect(stopped.contains("every event delivered"), "\(stopped)")
        #expect(peakResidentKiB(stopped).map { $0 < Self.memoryBoundKiB } == true, "\(stopped)")
        #expect(ending.exitStatus == "0", "Sluice's exit status")
        return String(stopped)
    }

    private func peakResidentKiB(_ line: Substring) -> Int? {
        guard let range = line.firstRange(of: #""peak_rss_kib":"#) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}
