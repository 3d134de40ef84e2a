import SluiceCore
import SluiceSync

/// What Sluice says of its own health at one moment, read from the pipeline's counters: the
/// one source of `/api/health`, `/healthz` and `/readyz`.
///
/// A sink is `delivering` while its output works, `retrying` from its first failure, and
/// `failing` once that has lasted `metrics.unhealthy_after`. The whole is `failing` when every
/// sink is (fluent-bit#9492: never "healthy" while nothing gets out), `degraded` when one is, a
/// disk buffer is above nine tenths or a source is not reading yet, `stopping` during a shutdown,
/// and `ok` otherwise. Liveness (`/healthz`) stays 200 whatever this says: a destination that is
/// down is no reason for the kubelet to restart the pod.
struct HealthReport {
    enum Status: String {
        case ok, degraded, failing, stopping
    }

    enum SinkState: String {
        case delivering, retrying, failing
    }

    struct SourceHealth {
        var name: String
        var reading: Bool
        var events: Int
    }

    struct SinkHealth {
        var name: String
        var state: SinkState
        /// When the current failure began (wall-clock milliseconds); nil while delivering.
        var sinceMilliseconds: Int64?
        var lastError: String?
        var events: Int
        var dropped: Int
        /// Events its disk buffer holds; nil without one.
        var bufferedEvents: Int?
        var bufferNearlyFull: Bool
    }

    var stopping: Bool
    var sources: [SourceHealth]
    var sinks: [SinkHealth]

    init(_ pipeline: Pipeline, unhealthyAfterNanoseconds: UInt64) {
        let now = MonotonicClock.nowNanoseconds()
        let wallNow = EventTimestamp.nowMilliseconds()
        stopping = pipeline.shutdown.isDraining
        sources = pipeline.sourceCounters.map { SourceHealth(name: $0.name, reading: $0.isReady, events: $0.events.current) }
        sinks = pipeline.sinkRunners.map { runner in
            let counters = runner.counters
            let since = counters.problemSinceNanoseconds
            let failingFor = since.map { now >= $0 ? now - $0 : 0 }
            return SinkHealth(
                name: counters.name,
                state: failingFor.map { $0 >= unhealthyAfterNanoseconds ? .failing : .retrying } ?? .delivering,
                sinceMilliseconds: failingFor.map { wallNow - Int64($0 / 1_000_000) },
                lastError: counters.currentProblem,
                events: counters.events.current,
                dropped: counters.droppedTotal,
                bufferedEvents: runner.buffer?.waitingEvents,
                bufferNearlyFull: runner.buffer?.isNearlyFull ?? false
            )
        }
    }

    var status: Status {
        if stopping { return .stopping }
        if !sinks.isEmpty && sinks.allSatisfy({ $0.state == .failing }) { return .failing }
        if sinks.contains(where: { $0.state == .failing || $0.bufferNearlyFull }) || sources.contains(where: { !$0.reading }) {
            return .degraded
        }
        return .ok
    }

    private func failingLine(_ sink: SinkHealth) -> String {
        let seconds = sink.sinceMilliseconds.map { max(0, (EventTimestamp.nowMilliseconds() - $0) / 1000) } ?? 0
        return "sink \(sink.name) failing for \(seconds)s: \(sink.lastError ?? "")"
    }

    /// Why `/readyz` says no: a shutdown under way, a source not reading yet, or a sink without
    /// a disk buffer failing (a buffered sink's outage is what its buffer is for).
    var notReadyReasons: [String] {
        (stopping ? ["shutting down"] : [])
            + sources.filter { !$0.reading }.map { "source \($0.name) is not reading yet" }
            + sinks.filter { $0.state == .failing && $0.bufferedEvents == nil }.map(failingLine)
    }

    /// `/healthz`'s body: the status, then a line for each thing worth a look.
    var livenessLines: [String] {
        [status.rawValue]
            + sinks.filter(\.bufferNearlyFull).map { "warning: the disk buffer of sink \($0.name) is above 90% full" }
            + sinks.filter { $0.state == .failing }.map { "warning: " + failingLine($0) }
    }

    /// `{"name":…,"state":…` of a component's object (a comma before it unless `first`).
    private static func openComponent(_ writer: inout ByteWriter, first: Bool, name: String, state: String) {
        writer.append(first ? "{" : ",{")
        writer.append(#""name":"#)
        writer.appendJSONString(name)
        writer.append(#","state":"#)
        writer.appendJSONString(state)
    }

    /// `/api/health`: the status and every component's, as one JSON object.
    func json(startedAtMilliseconds: Int64) -> String {
        var writer = ByteWriter(capacity: 4096)
        writer.append(#"{"status":"#)
        writer.appendJSONString(status.rawValue)
        writer.append(#","started_at":"#)
        writer.appendJSONString(EventTimestamp.format(startedAtMilliseconds))
        writer.append(#","sources":["#)
        for (index, source) in sources.enumerated() {
            Self.openComponent(&writer, first: index == 0, name: source.name, state: source.reading ? "reading" : "starting")
            writer.append(#","events":\#(source.events)}"#)
        }
        writer.append(#"],"sinks":["#)
        for (index, sink) in sinks.enumerated() {
            Self.openComponent(&writer, first: index == 0, name: sink.name, state: sink.state.rawValue)
            if let since = sink.sinceMilliseconds {
                writer.append(#","since":"#)
                writer.appendJSONString(EventTimestamp.format(since))
            }
            if let error = sink.lastError {
                writer.append(#","last_error":"#)
                writer.appendJSONString(error)
            }
            writer.append(#","events":\#(sink.events),"dropped":\#(sink.dropped)"#)
            if let buffered = sink.bufferedEvents {
                writer.append(#","buffer":{"events":\#(buffered),"nearly_full":\#(sink.bufferNearlyFull)}"#)
            }
            writer.append("}")
        }
        writer.append("]}\n")
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
