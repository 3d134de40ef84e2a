import Logging
public import SluiceComponentConfig
public import SluiceConfig
public import SluiceCore
import SluiceSync

/// `type: otlp`: receives OpenTelemetry logs over OTLP/HTTP (`POST /v1/logs`, protobuf or
/// OTLP/JSON, gzipped or not) from SDKs, collectors and other Sluices' `otlp` sinks. Each log
/// record becomes an event (`OTLPEventWriter` has the mapping), which then goes through the
/// source's `labels` like any other; the event-loop threads decode and encode, this source's
/// thread publishes, with a queue of eight requests between them, beyond which the receiver
/// answers 503 with `Retry-After` (the ring is holding the sources back). On SIGTERM it stops
/// listening, publishes what it had accepted, and ends.
///
/// Accounting: a request's events are counted in (`events_in`) only when it is answered 200;
/// one answered 503, 413 or 400 was never taken. What was taken and could not be published
/// before the stop is counted as dropped at the source (`shutdown`).
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `address` | host:port | `127.0.0.1:4318` | where to listen (loopback unless configured) |
/// | `max_body` | size | `8MiB` | a request body at most, compressed and decompressed |
/// | `max_records` | integer | `100000` | log records in one request at most (413 beyond) |
/// | `max_decoded` | size | 4 × `max_body` | a request's events, as Sluice writes them, at most (413 beyond) |
/// | `max_connections` | integer | `1024` | connections at once; more are closed as they come |
/// | `idle_timeout` | duration | `60s` | a connection idle between requests is closed |
/// | `header_timeout`, `body_timeout` | duration | `60s` | a request's head must arrive within this of its first byte; its body must not stall longer |
/// | `bearer_token` | secret | none | when set, requests must carry `Authorization: Bearer <token>` |
/// | `tls.certificate_file`, `tls.key_file` | PEM paths | none | with both, HTTPS only |
///
/// Plus `labels` (the keys of every source; `format`, `max_line_bytes` and `multiline` do not
/// apply: each record is one event). What all requests in flight may hold together is
/// `limits.request_memory` (see `RequestMemoryBudget`).
public final class OTLPSource: Source, SettingsCarrying {
    public let name: String
    private let receiverSettings: OTLPReceiver.Settings
    private let budget: RequestMemoryBudget
    private let labels: [(key: String, value: String)]
    private let host: String
    private let listening = Locked<OTLPReceiver?>(nil)
    private let logger = Logger(label: "sluice.source")

    /// A ring slot holds about this much: a request's events are split into batches of it.
    static let batchBytes = 512 * 1024

    public init(name: String, reading reader: ConfigReader, host: String, budget: RequestMemoryBudget) {
        self.name = name
        self.host = host
        self.budget = budget
        let address = reader.string("address", default: "127.0.0.1:4318")
        let tls = reader.section("tls")
        let certificate = tls.optionalString("certificate_file").flatMap { $0.isEmpty ? nil : $0 }
        let key = tls.optionalString("key_file").flatMap { $0.isEmpty ? nil : $0 }
        if (certificate == nil) != (key == nil) {
            tls.reportInvalid("certificate_file", "HTTPS needs both certificate_file and key_file")
        }
        tls.rejectUnknownKeys()
        let maxBody = reader.size("max_body", default: 8 << 20, range: 1024...(256 << 20))
        receiverSettings = OTLPReceiver.Settings(
            address: address,
            limits: OTLPLimits(
                maxBodyBytes: maxBody, maxRecords: reader.int("max_records", default: 100_000, range: 1...100_000_000),
                maxDecodedBytes: reader.size("max_decoded", default: 4 * maxBody, range: 1024...(4 << 30))
            ),
            connections: HTTPServerLimits(
                maxConnections: reader.int("max_connections", default: 1024, range: 1...1_000_000),
                idleTimeoutNanoseconds: reader.duration("idle_timeout", default: 60_000_000_000, minimum: 1_000_000),
                headerTimeoutNanoseconds: reader.duration("header_timeout", default: 60_000_000_000, minimum: 1_000_000),
                bodyTimeoutNanoseconds: reader.duration("body_timeout", default: 60_000_000_000, minimum: 1_000_000)
            ),
            bearerToken: reader.secret("bearer_token").flatMap { $0.isEmpty ? nil : $0 },
            certificateFile: certificate, keyFile: key
        )
        labels = reader.stringMap("labels")
    }

    /// How `sluice test` reads lines given for this source: as the JSON events it makes.
    public var settings: SourceSettings { SourceSettings(format: .json, labels: labels) }

    /// The port bound (useful with port 0), once listening.
    public var boundPort: Int? { listening.withLock { $0?.port } }

    public func metricSamples() -> [MetricSample] {
        guard let listener = listening.withLock({ $0?.connections }) else { return [] }
        let labels = [("source", name)]
        return [
            MetricSample("sluice_source_connections", .gauge, help: "Connections open now.", labels: labels, value: Double(listener.openConnections)),
            MetricSample("sluice_source_connections_refused_total", .counter, help: "Connections closed as they came: max_connections, or the descriptor budget, in use.", labels: labels, value: Double(listener.refusedConnections)),
            MetricSample("sluice_source_connections_timed_out_total", .counter, help: "Connections closed because a request's head or body was too slow.", labels: labels, value: Double(listener.timedOutConnections)),
            MetricSample("sluice_request_memory_bytes", .gauge, help: "Memory held by requests being read, decoded or waiting to be published (all listening sources).", value: Double(budget.inUse)),
        ]
    }

    public func run(_ context: SourceContext) throws {
        let queue = BoundedQueue<OTLPAcceptedRequest>(capacity: 8)
        let metadata = EventMetadata(host: host, sourceName: name, stream: nil, labels: labels)
        // Each request's events are encoded on the event-loop thread that read it (as many as
        // cores); this thread only publishes, and may wait while the ring is full.
        let encode: OTLPEncode = { lines, reservation in
            var encoding = BatchEncoding(context: context, format: .json, metadata: metadata, readSize: Self.batchBytes / 2)
            var batches: [EventBatch] = []
            var counts = EncodingCounts()
            var held = reservation.bytes
            var start = 0
            while let end = lines.firstOffset(of: 0x0A, from: start) {
                encoding.encodeMessage(UnsafeRawBufferPointer(rebasing: lines[start..<end]))
                start = end + 1
                guard encoding.pendingBytes >= Self.batchBytes || start >= lines.count else { continue }
                guard let (batch, batchCounts) = encoding.takeUncountedBatch() else { continue }
                held += batch.bytes.count
                guard reservation.grow(to: held) else { return nil }
                batches.append(batch)
                counts.add(batchCounts)
            }
            return (batches, counts)
        }
        let counters = context.counters
        let receiver = try OTLPReceiver(
            settings: receiverSettings, budget: budget, sourceName: name, acceptErrors: context.counters.acceptErrors, encode: encode
        ) { request in
            guard queue.offer(request) else { return false }
            // Taken: answered 200, so counted in.
            counters.add(request.counts)
            return true
        }
        listening.withLock { $0 = receiver }
        context.markReady()
        logger.info("listening", metadata: ["source": "\(name)", "port": "\(receiver.port)", "path": "/v1/logs"])
        var stopped = false
        while true {
            switch queue.take(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 200_000_000) {
            case .element(let request, _):
                guard publish(request, context) else {
                    receiver.stop()
                    queue.close()
                    // What was taken and is still queued can go nowhere now: counted as dropped.
                    while let left = queue.take() {
                        context.counters.unpublished.add(left.events)
                        left.reservation.releaseAll()
                    }
                    return
                }
            case .timedOut:
                if context.shutdown.isDraining && !stopped {
                    // No new requests; what was accepted is still published.
                    receiver.stop()
                    queue.close()
                    stopped = true
                }
            case .closed:
                return
            }
        }
    }

    /// Publishes a request's batches; false when the pipeline closed first (what was not
    /// published is counted as dropped at the source).
    private func publish(_ request: OTLPAcceptedRequest, _ context: SourceContext) -> Bool {
        defer { request.reservation.releaseAll() }
        for (index, batch) in request.batches.enumerated() {
            guard context.publish(batch) else {
                let rest = request.batches[(index + 1)...].reduce(0) { $0 + $1.count }
                context.counters.unpublished.add(rest)
                return false
            }
        }
        return true
    }
}

extension OTLPSource {
    /// `type: otlp`.
    public static let registration = SourceRegistration(type: "otlp") {
        OTLPSource(name: $0, reading: $1, host: $2.host, budget: $2.requestMemory)
    }
}
