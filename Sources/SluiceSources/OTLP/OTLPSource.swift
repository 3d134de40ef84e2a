public import SluiceConfig
public import SluiceCore
import Logging
import SluiceRing

/// `type: otlp`: receives OpenTelemetry logs over OTLP/HTTP (`POST /v1/logs`, protobuf or
/// OTLP/JSON, gzipped or not) from SDKs, collectors and other Sluices' `otlp` sinks. Each log
/// record becomes an event (`OTLPEventWriter` has the mapping), which then goes through the
/// source's `labels` like any other; the event-loop threads decode and encode, this source's
/// thread publishes, with a queue of eight requests between them, beyond which the receiver
/// answers 503 with `Retry-After` (the ring is holding the sources back). On SIGTERM it stops listening,
/// publishes what it had accepted, and ends.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `address` | host:port | `127.0.0.1:4318` | where to listen (loopback unless configured) |
/// | `max_body` | size | `8MiB` | a request body at most, compressed and decompressed |
/// | `bearer_token` | secret | none | when set, requests must carry `Authorization: Bearer <token>` |
/// | `tls.certificate_file`, `tls.key_file` | PEM paths | none | with both, HTTPS only |
///
/// Plus `labels` (the keys of every source; `format`, `max_line_bytes` and `multiline` do not
/// apply: each record is one event).
public final class OTLPSource: Source, SettingsCarrying {
    public let name: String
    private let receiverSettings: OTLPReceiver.Settings
    private let labels: [(key: String, value: String)]
    private let host: String
    private let listeningPort = Locked<Int?>(nil)
    private let logger = Logger(label: "sluice.source")

    public init(name: String, reading reader: ConfigReader, host: String) {
        self.name = name
        self.host = host
        let address = reader.string("address", default: "127.0.0.1:4318")
        let tls = reader.section("tls")
        let certificate = tls.optionalString("certificate_file").flatMap { $0.isEmpty ? nil : $0 }
        let key = tls.optionalString("key_file").flatMap { $0.isEmpty ? nil : $0 }
        if (certificate == nil) != (key == nil) {
            tls.reportInvalid("certificate_file", "HTTPS needs both certificate_file and key_file")
        }
        tls.rejectUnknownKeys()
        receiverSettings = OTLPReceiver.Settings(
            address: address,
            maxBodyBytes: reader.size("max_body", default: 8 << 20, range: 1024...(256 << 20)),
            bearerToken: reader.secret("bearer_token").flatMap { $0.isEmpty ? nil : $0 },
            certificateFile: certificate, keyFile: key
        )
        labels = reader.stringMap("labels")
    }

    /// How `sluice test` reads lines given for this source: as the JSON events it makes.
    public var settings: SourceSettings { SourceSettings(format: .json, labels: labels) }

    /// The port bound (useful with port 0), once listening.
    public var boundPort: Int? { listeningPort.withLock { $0 } }

    public func run(_ context: SourceContext) throws {
        let queue = BoundedQueue<EventBatch>(capacity: 8)
        let metadata = EventMetadata(host: host, sourceName: name, stream: nil, labels: labels)
        // Each request's events are encoded on the event-loop thread that read it (as many as
        // cores); this thread only publishes, and may wait while the ring is full.
        let receiver = try OTLPReceiver(settings: receiverSettings, queue: queue, sourceName: name) { lines in
            var encoding = BatchEncoding(context: context, format: .json, metadata: metadata, readSize: max(4096, lines.count))
            var start = 0
            for end in lines.indices where lines[end] == 0x0A {
                encoding.encodeMessage(UnsafeRawBufferPointer(rebasing: lines[start..<end]))
                start = end + 1
            }
            return encoding.takeBatch()
        }
        listeningPort.withLock { $0 = receiver.port }
        context.markReady()
        logger.info("listening", metadata: ["source": "\(name)", "port": "\(receiver.port)", "path": "/v1/logs"])
        var stopped = false
        while true {
            switch queue.take(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 200_000_000) {
            case .element(let batch, _):
                guard context.publish(batch) else {
                    receiver.stop()
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
}
