import SluiceCore

/// What the metrics listener serves: `/metrics` (Prometheus text), the probes `/healthz` and
/// `/readyz`, and the read-only admin API under `/api/`.
///
/// The probes and `/metrics` answer anyone who can reach the listener (a kubelet or a scraper
/// carries no token); `/api/` asks for `Authorization: Bearer <metrics.token>` when a token is
/// configured. The listener binds 127.0.0.1 unless `metrics.address` says otherwise.
struct AdminEndpoints: Sendable {
    typealias Answer = MetricsServer.Answer

    let pipeline: Pipeline
    let unhealthyAfterNanoseconds: UInt64
    let startedAtMilliseconds: Int64
    let token: String?

    func answer(_ request: MetricsServer.Request) -> Answer {
        if request.path.hasPrefix("/api/"), let token, request.authorization != "Bearer " + token {
            return Answer(status: 401, contentType: "text/plain", body: "the admin API needs Authorization: Bearer <metrics.token>\n")
        }
        switch request.path {
        case "/metrics":
            return Answer(status: 200, contentType: "text/plain; version=0.0.4", body: PrometheusText.render(metricSamples()))
        case "/healthz":
            return Answer(status: 200, contentType: "text/plain", body: health.livenessLines.joined(separator: "\n") + "\n")
        case "/readyz":
            let reasons = health.notReadyReasons
            return reasons.isEmpty
                ? Answer(status: 200, contentType: "text/plain", body: "ready\n")
                : Answer(status: 503, contentType: "text/plain", body: reasons.joined(separator: "\n") + "\n")
        case "/api/tap":
            return TapEndpoint(pipeline: pipeline).answer(request.query)
        case "/api/health":
            let report = health
            let status = report.status == .failing || report.status == .stopping ? 503 : 200
            return Answer(status: status, contentType: "application/json", body: report.json(startedAtMilliseconds: startedAtMilliseconds))
        default:
            return Answer(status: 404, contentType: "text/plain", body: "not found: /metrics, /healthz, /readyz, /api/health and /api/tap are served\n")
        }
    }

    private var health: HealthReport {
        HealthReport(pipeline, unhealthyAfterNanoseconds: unhealthyAfterNanoseconds)
    }

    private func metricSamples() -> [MetricSample] {
        var samples = pipeline.metricSamples()
        samples.append(MetricSample("sluice_start_time_seconds", .gauge, help: "When Sluice started (Unix time).", value: Double(startedAtMilliseconds) / 1000))
        if let resident = ProcessMemory.residentKilobytes {
            samples.append(MetricSample("process_resident_memory_bytes", .gauge, help: "Resident memory.", value: Double(resident * 1024)))
        }
        if let cpu = ProcessMemory.cpuSeconds {
            samples.append(MetricSample("process_cpu_seconds_total", .counter, help: "User and system CPU time.", value: cpu))
        }
        return samples
    }
}
