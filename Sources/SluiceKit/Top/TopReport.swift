/// What `sluice top` shows, from two scrapes of `/metrics` a moment apart (rates are their
/// difference over the time between) and, when the admin API answers, `/api/health` (each
/// sink's state and last error).
struct TopReport {
    struct SourceRow {
        var name: String
        var eventsPerSecond: Double
        var bytesPerSecond: Double
        var lagBytes: Double?
    }

    struct TransformRow {
        var name: String
        var inPerSecond: Double
        var outPerSecond: Double
        var droppedPerSecond: Double
    }

    struct SinkRow {
        var name: String
        var eventsPerSecond: Double
        var bytesPerSecond: Double
        /// Drops per second by reason, those above zero.
        var drops: [(reason: String, perSecond: Double)]
        var state: String
        var lastError: String?
        var bufferBytes: Double?
        var bufferOldestSeconds: Double?
        /// Mean time from read to delivery of the events delivered between the scrapes.
        var latencySeconds: Double?
    }

    var address: String
    var ringOccupied: Double?
    var ringSlots: Double?
    var cpuPerSecond: Double?
    var residentBytes: Double?
    var sources: [SourceRow] = []
    var transforms: [TransformRow] = []
    var sinks: [SinkRow] = []

    init(address: String, before: MetricsSnapshot, after: MetricsSnapshot, health: [String: (state: String, lastError: String?)]) {
        self.address = address
        let seconds = max(0.001, Double(after.takenAtNanoseconds - before.takenAtNanoseconds) / 1e9)
        func rate(_ name: String, by label: String) -> [String: Double] {
            let old = before.values(name, by: label)
            return after.values(name, by: label).reduce(into: [:]) { rates, entry in
                rates[entry.key] = max(0, entry.value - (old[entry.key] ?? 0)) / seconds
            }
        }
        ringOccupied = after.value("sluice_ring_occupied_slots")
        ringSlots = after.value("sluice_ring_slots")
        if let cpu = after.value("process_cpu_seconds_total"), let earlier = before.value("process_cpu_seconds_total") {
            cpuPerSecond = max(0, cpu - earlier) / seconds
        }
        residentBytes = after.value("process_resident_memory_bytes")

        let sourceEvents = rate("sluice_source_events_total", by: "source")
        let sourceBytes = rate("sluice_source_bytes_total", by: "source")
        let lag = after.values("sluice_file_lag_bytes", by: "source")
        sources = after.names("sluice_source_events_total", label: "source").map {
            SourceRow(name: $0, eventsPerSecond: sourceEvents[$0] ?? 0, bytesPerSecond: sourceBytes[$0] ?? 0, lagBytes: lag[$0])
        }
        let transformIn = rate("sluice_transform_events_in_total", by: "transform")
        let transformOut = rate("sluice_transform_events_out_total", by: "transform")
        let transformDropped = rate("sluice_transform_dropped_events_total", by: "transform")
        transforms = after.names("sluice_transform_events_in_total", label: "transform").map {
            TransformRow(name: $0, inPerSecond: transformIn[$0] ?? 0, outPerSecond: transformOut[$0] ?? 0, droppedPerSecond: transformDropped[$0] ?? 0)
        }
        let sinkEvents = rate("sluice_sink_events_total", by: "sink")
        let latencySum = (before.values("sluice_sink_delivery_latency_seconds_sum", by: "sink"), after.values("sluice_sink_delivery_latency_seconds_sum", by: "sink"))
        let latencyCount = (before.values("sluice_sink_delivery_latency_seconds_count", by: "sink"), after.values("sluice_sink_delivery_latency_seconds_count", by: "sink"))
        let sinkBytes = rate("sluice_sink_bytes_total", by: "sink")
        let healthy = after.values("sluice_sink_healthy", by: "sink")
        let bufferBytes = after.values("sluice_buffer_bytes", by: "sink")
        let bufferOldest = after.values("sluice_buffer_oldest_age_seconds", by: "sink")
        let dropSamples = (before: before.samples.filter { $0.name == "sluice_sink_dropped_events_total" },
                           after: after.samples.filter { $0.name == "sluice_sink_dropped_events_total" })
        sinks = after.names("sluice_sink_events_total", label: "sink").map { name in
            let drops = dropSamples.after.filter { $0.labels["sink"] == name }.compactMap { sample -> (String, Double)? in
                let reason = sample.labels["reason"] ?? "?"
                let earlier = dropSamples.before.first { $0.labels["sink"] == name && $0.labels["reason"] == reason }?.value ?? 0
                let perSecond = max(0, sample.value - earlier) / seconds
                return perSecond > 0 ? (reason, perSecond) : nil
            }
            let known = health[name]
            let delivered = (latencyCount.1[name] ?? 0) - (latencyCount.0[name] ?? 0)
            let latency = delivered > 0 ? ((latencySum.1[name] ?? 0) - (latencySum.0[name] ?? 0)) / delivered : nil
            return SinkRow(
                name: name, eventsPerSecond: sinkEvents[name] ?? 0, bytesPerSecond: sinkBytes[name] ?? 0, drops: drops,
                state: known?.state ?? (healthy[name] == 0 ? "retrying" : "delivering"), lastError: known?.lastError,
                bufferBytes: bufferBytes[name], bufferOldestSeconds: bufferOldest[name], latencySeconds: latency
            )
        }
    }

    // MARK: Rendering

    static func number(_ value: Double) -> String {
        switch value {
        case ..<10: String(format1(value))
        case ..<10_000: String(Int(value.rounded()))
        case ..<10_000_000: "\(Int((value / 1_000).rounded()))k"
        default: "\(Int((value / 1_000_000).rounded()))M"
        }
    }

    /// `850ms`, `2.4s`, `3m`.
    static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<1: "\(Int((seconds * 1000).rounded()))ms"
        case ..<60: "\(format1(seconds))s"
        default: "\(Int((seconds / 60).rounded()))m"
        }
    }

    private static func format3(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    private static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Bytes in a unit that keeps three or four digits: `950 B`, `117.2 KiB`, `12.0 MiB`.
    static func bytes(_ value: Double) -> String {
        var scaled = value
        for unit in ["B", "KiB", "MiB", "GiB"] {
            if scaled < 1_000 || unit == "GiB" { return unit == "B" ? "\(Int(scaled.rounded())) B" : "\(format1(scaled)) \(unit)" }
            scaled /= 1_024
        }
        return "\(format1(scaled)) GiB"
    }

    private static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let clipped = text.count > width ? String(text.prefix(max(0, width - 1))) + "…" : text
        let padding = String(repeating: " ", count: max(0, width - clipped.count))
        return right ? padding + clipped : clipped + padding
    }

    /// The full-screen view, `width` columns wide at most.
    func screen(width: Int, clock: String) -> [String] {
        var lines: [String] = []
        let ring = ringSlots.map { slots in "ring \(Int(ringOccupied ?? 0))/\(Int(slots))" } ?? "ring -"
        let cpu = cpuPerSecond.map { "cpu \(Self.format1($0 * 100))%" } ?? "cpu -"
        let memory = residentBytes.map { "rss \(Self.bytes($0))" } ?? "rss -"
        lines.append("sluice top  \(address)  \(ring)  \(cpu)  \(memory)  \(clock)")
        lines.append("")
        lines.append(Self.padded("SOURCE", 18) + Self.padded("EVENTS/S", 10, right: true) + Self.padded("BYTES/S", 12, right: true) + "  LAG")
        for source in sources {
            lines.append(Self.padded(source.name, 18) + Self.padded(Self.number(source.eventsPerSecond), 10, right: true)
                + Self.padded(Self.bytes(source.bytesPerSecond), 12, right: true) + "  " + (source.lagBytes.map(Self.bytes) ?? ""))
        }
        if !transforms.isEmpty {
            lines.append("")
            lines.append(Self.padded("TRANSFORM", 18) + Self.padded("IN/S", 10, right: true) + Self.padded("OUT/S", 12, right: true) + Self.padded("DROPPED/S", 12, right: true))
            for transform in transforms {
                lines.append(Self.padded(transform.name, 18) + Self.padded(Self.number(transform.inPerSecond), 10, right: true)
                    + Self.padded(Self.number(transform.outPerSecond), 12, right: true) + Self.padded(Self.number(transform.droppedPerSecond), 12, right: true))
            }
        }
        lines.append("")
        lines.append(Self.padded("SINK", 18) + Self.padded("EVENTS/S", 10, right: true) + Self.padded("BYTES/S", 12, right: true) + "  " + Self.padded("STATE", 11)
            + Self.padded("LATENCY", 9) + "BUFFER")
        for sink in sinks {
            let buffer = sink.bufferBytes.map { Self.bytes($0) + (sink.bufferOldestSeconds.map { " \(Int($0))s old" } ?? "") } ?? ""
            lines.append(Self.padded(sink.name, 18) + Self.padded(Self.number(sink.eventsPerSecond), 10, right: true)
                + Self.padded(Self.bytes(sink.bytesPerSecond), 12, right: true) + "  " + Self.padded(sink.state, 11)
                + Self.padded(sink.latencySeconds.map(Self.duration) ?? "-", 9) + buffer)
            for drop in sink.drops {
                lines.append("  dropping \(Self.number(drop.perSecond))/s: \(drop.reason)")
            }
            if let error = sink.lastError {
                lines.append("  last error: \(error)")
            }
        }
        lines.append("")
        lines.append("q quits")
        return lines.map { Self.padded($0, width) }
    }

    /// One line per component, for a pipe or a log (`--once`, or stdout not a terminal).
    func componentLines() -> [String] {
        var lines: [String] = []
        for source in sources {
            lines.append("source \(source.name) events_per_s=\(Self.format1(source.eventsPerSecond)) bytes_per_s=\(Int(source.bytesPerSecond.rounded()))"
                + (source.lagBytes.map { " lag_bytes=\(Int($0))" } ?? ""))
        }
        for transform in transforms {
            lines.append("transform \(transform.name) in_per_s=\(Self.format1(transform.inPerSecond)) out_per_s=\(Self.format1(transform.outPerSecond)) dropped_per_s=\(Self.format1(transform.droppedPerSecond))")
        }
        for sink in sinks {
            var line = "sink \(sink.name) events_per_s=\(Self.format1(sink.eventsPerSecond)) bytes_per_s=\(Int(sink.bytesPerSecond.rounded())) state=\(sink.state)"
            if let latency = sink.latencySeconds { line += " latency_s=\(Self.format3(latency))" }
            if let bytes = sink.bufferBytes { line += " buffer_bytes=\(Int(bytes))" }
            if let oldest = sink.bufferOldestSeconds { line += " buffer_oldest_s=\(Self.format1(oldest))" }
            for drop in sink.drops { line += " dropped_\(drop.reason)_per_s=\(Self.format1(drop.perSecond))" }
            if let error = sink.lastError { line += " last_error=\"\(error.replacing("\"", with: "'"))\"" }
            lines.append(line)
        }
        lines.append("ring occupied=\(Int(ringOccupied ?? 0)) slots=\(Int(ringSlots ?? 0))" + (cpuPerSecond.map { " cpu=\(Self.format1($0))" } ?? "")
            + (residentBytes.map { " rss_bytes=\(Int($0))" } ?? ""))
        return lines
    }
}
