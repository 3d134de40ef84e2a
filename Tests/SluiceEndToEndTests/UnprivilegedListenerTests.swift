import Glibc
import SluiceTesting
import Testing

/// A container runtime drops CAP_NET_ADMIN (podman, Docker and the kubelet's defaults). Before,
/// every connection to Sluice's HTTP listeners (metrics and probes, OTLP) was closed as soon as
/// it was accepted there: TCP_NODELAY was set at the socket level, where its number is
/// SO_DEBUG's, which needs that capability. The pods in PodTests found it; this runs the binary
/// without the capability on the host.
@Suite("listeners without CAP_NET_ADMIN, as in a container", .timeLimit(.minutes(10)), .watchdog)
struct UnprivilegedListenerTests {
    let directory = TemporaryDirectory()

    @Test(.requires("setpriv")) func probesAndOTLPAnswerWithoutNetAdmin() throws {
        let config = directory.write("u.yaml", """
            sources:
              otel: { type: otlp, address: "127.0.0.1:0" }
            sinks:
              all: { type: blackhole }
            """)
        let sluice = try ChildProcess(
            executable: ExternalTool.path("setpriv") ?? "setpriv",
            arguments: ["--inh-caps=-net_admin", "--bounding-set=-net_admin", SluiceBinary.path, "--config", config],
            environment: SluiceBinary.environment(), stdin: .null
        )
        defer { sluice.send(SIGKILL) }
        let metrics = try #require(sluice.metricsPort())
        let otlp = try #require(sluice.listeningPort(of: "otel"))
        #expect((try? HTTPGet.get(port: metrics, path: "/healthz").status) == 200, "\(sluice.standardError.suffix(600))")
        let body = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hello"}}]}]}]}"#
        let answer = try? HTTPGet.post(port: otlp, path: "/v1/logs", body: body, headers: ["Content-Type": "application/json"])
        #expect(answer?.status == 200, "\(String(describing: answer))")
    }
}
