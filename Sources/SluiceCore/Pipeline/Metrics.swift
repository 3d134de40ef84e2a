import SluiceRing

/// One value for `/metrics`.
public struct MetricSample: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public var name: String
    /// The metric family the sample belongs to: its name, but for a histogram's `_bucket`,
    /// `_sum` and `_count` samples.
    public var family: String
    public var help: String
    public var kind: Kind
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, _ kind: Kind, family: String? = nil, help: String, labels: [(String, String)] = [], value: Double) {
        self.name = name
        self.family = family ?? name
        self.help = help
        self.kind = kind
        self.labels = labels
        self.value = value
    }
}

/// The Prometheus text exposition format (0.0.4).
public enum PrometheusText {
    public static func render(_ samples: [MetricSample]) -> String {
        var output = ""
        var described: Set<String> = []
        for sample in samples {
            if described.insert(sample.family).inserted {
                output += "# HELP \(sample.family) \(sample.help)\n# TYPE \(sample.family) \(sample.kind.rawValue)\n"
            }
            output += sample.name
            if !sample.labels.isEmpty {
                output += "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            output += " " + format(sample.value) + "\n"
        }
        return output
    }

    private static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension Pipeline {
    /// Every counter of the pipeline's sources, ring and sinks, and what sinks add themselves.
    public func metricSamples() -> [MetricSample] {
        var samples: [MetricSample] = []
        for counters in sourceCounters {
            let labels = [("source", counters.name)]
            samples.append(MetricSample("sluice_source_events_total", .counter, help: "Events read.", labels: labels, value: Double(counters.events.current)))
            samples.append(MetricSample("sluice_source_bytes_total", .counter, help: "Bytes read.", labels: labels, value: Double(counters.bytes.current)))
            samples.append(MetricSample("sluice_source_invalid_utf8_lines_total", .counter, help: "Lines whose invalid UTF-8 was replaced.", labels: labels, value: Double(counters.invalidUTF8Lines.current)))
            samples.append(MetricSample("sluice_source_cut_line_parts_total", .counter, help: "Parts of over-long lines (and truncated datagrams).", labels: labels, value: Double(counters.cutLineParts.current)))
            samples.append(MetricSample("sluice_source_unparsed_lines_total", .counter, help: "Lines of json, logfmt or syslog sources that did not parse.", labels: labels, value: Double(counters.unparsedLines.current)))
            samples.append(MetricSample("sluice_source_accept_errors_total", .counter, help: "Failed accepts for want of descriptors or memory (retried with backoff).", labels: labels, value: Double(counters.acceptErrors.current)))
            samples.append(MetricSample("sluice_source_connections_evicted_total", .counter, help: "Connections closed at max_connections to let a waiting client in (the one quiet longest).", labels: labels, value: Double(counters.evictedConnections.current)))
            samples.append(MetricSample("sluice_source_ready", .gauge, help: "1 once the source reads (sockets: listens).", labels: labels, value: counters.isReady ? 1 : 0))
        }
        for source in sources { samples += source.metricSamples() }
        samples += route.transforms?.metricSamples() ?? []
        samples.append(MetricSample("sluice_ring_slots", .gauge, help: "Slots in the ring between sources and sinks.", value: Double(ring.capacity)))
        for (use, counter) in [("condition", RegexLimitHits.conditions), ("redact", RegexLimitHits.redactions), ("multiline", RegexLimitHits.multiline)] {
            samples.append(MetricSample(
                "sluice_regex_limit_hits_total", .counter, help: "Regex matches stopped at PCRE2's match limit: the condition failed closed, the value was redacted whole, the line was not joined.",
                labels: [("use", use)], value: Double(counter.current)
            ))
        }
        samples.append(MetricSample("sluice_ring_occupied_slots", .gauge, help: "Slots the slowest blocking sink has not finished.", value: Double(ring.occupancy)))
        // The running sinks, and removed ones still finishing their backlog.
        let running = sinkRunners
        let finishing = finishingRunners.filter { old in !running.contains { $0.counters === old.counters } }
        for runner in running + finishing {
            let counters = runner.counters
            let labels = [("sink", counters.name)]
            samples.append(MetricSample("sluice_sink_events_total", .counter, help: "Events delivered.", labels: labels, value: Double(counters.events.current)))
            samples.append(MetricSample("sluice_sink_bytes_total", .counter, help: "Bytes of events delivered.", labels: labels, value: Double(counters.bytes.current)))
            for reason in DropReason.allCases {
                samples.append(MetricSample("sluice_sink_dropped_events_total", .counter, help: "Events not delivered, by reason.",
                                            labels: labels + [("reason", reason.rawValue)], value: Double(counters.dropped(reason).current)))
            }
            samples.append(MetricSample("sluice_sink_retries_total", .counter, help: "Writes or requests retried after a failure.", labels: labels, value: Double(counters.retries.current)))
            samples += counters.latency.samples(
                name: "sluice_sink_delivery_latency_seconds", help: "Time from an event's read to its delivery (acknowledgement), by events.", labels: labels
            )
            samples.append(MetricSample("sluice_sink_healthy", .gauge, help: "0 while the sink's output is failing.", labels: labels, value: counters.currentProblem == nil ? 1 : 0))
            samples += runner.sink.metricSamples()
            samples += runner.buffer?.metricSamples() ?? []
        }
        return samples
    }
}
