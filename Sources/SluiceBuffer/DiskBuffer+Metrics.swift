public import SluiceCore

extension DiskBuffer {
    /// `sluice_buffer_*{sink}`: what waits (events, bytes, segments, the oldest's age), what
    /// went through (records appended and acknowledged), and what was lost, by reason.
    public func metricSamples() -> [MetricSample] {
        let stats = stats
        let labels = [("sink", sinkName)]
        var samples = [
            MetricSample("sluice_buffer_events", .gauge, help: "Events in a sink's disk buffer not yet acknowledged.", labels: labels, value: Double(stats.events)),
            MetricSample("sluice_buffer_bytes", .gauge, help: "Bytes of a sink's disk buffer segments.", labels: labels, value: Double(stats.bytes)),
            MetricSample("sluice_buffer_max_bytes", .gauge, help: "A sink's disk buffer size limit.", labels: labels, value: Double(stats.maxBytes)),
            MetricSample("sluice_buffer_segments", .gauge, help: "Segment files of a sink's disk buffer.", labels: labels, value: Double(stats.segments)),
            MetricSample("sluice_buffer_oldest_age_seconds", .gauge, help: "Age of the oldest record not yet acknowledged.", labels: labels, value: stats.oldestAgeSeconds),
            MetricSample("sluice_buffer_appends_total", .counter, help: "Records (batches) appended to a sink's disk buffer.", labels: labels, value: Double(stats.appends)),
            MetricSample("sluice_buffer_acknowledged_total", .counter, help: "Records (batches) a sink acknowledged.", labels: labels, value: Double(stats.acknowledged)),
        ]
        for reason in BufferLoss.allCases {
            samples.append(MetricSample(
                "sluice_buffer_records_lost_total", .counter, help: "Records lost to damage, by reason (their bytes are in the quarantine).",
                labels: labels + [("reason", reason.rawValue)], value: Double(stats.lost[reason] ?? 0)
            ))
        }
        return samples
    }
}
