public import SluiceComponentConfig
public import SluiceConfig
public import SluiceNATS

/// A `nats` source's settings.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `jetstream.stream` | name | required | the stream to read |
/// | `jetstream.consumer` | name | `sluice` | the durable pull consumer, created when missing; Sluices sharing it split the messages |
/// | `jetstream.filter` | subject | none | only the stream's messages on these subjects |
/// | `jetstream.ack_wait` | duration | `30s` | a message not acknowledged this long is delivered again (Sluice marks it in progress while its sinks hold it) |
/// | `jetstream.max_ack_pending` | integer | `20000` | messages delivered and not yet acknowledged, at most |
/// | `batch` | integer | `1000` | messages asked for per pull request |
/// | `max_bytes` | size | `8MiB` | bytes asked for per pull request (a `nats` sink's message holds up to 1,000 events) |
///
/// Plus the connection keys (`servers`, `auth`, `tls`, `connect_timeout`; see
/// `NATSClientSettings`) and the keys of every source (`format`, `max_line_bytes`, `labels`).
public struct NATSSourceSettings: Sendable {
    public var client: NATSClientSettings
    public var stream: String
    public var consumer: String
    public var filter: String?
    public var ackWaitNanoseconds: UInt64
    public var maxAckPending: Int
    public var batch: Int
    public var maxBytes: Int

    public init(reading reader: ConfigReader, sourceName: String) {
        client = NATSClientSettings(reading: reader, clientName: "sluice source \(sourceName)")
        let jetstream = reader.section("jetstream")
        stream = jetstream.requiredString("stream", hint: "the JetStream stream to read, such as LOGS")
        consumer = jetstream.string("consumer", default: "sluice")
        filter = jetstream.optionalString("filter").flatMap { $0.isEmpty ? nil : $0 }
        for (key, value) in [("stream", stream), ("consumer", consumer)] where value.contains(where: { $0 == "." || $0 == " " || $0 == "*" || $0 == ">" }) {
            jetstream.reportInvalid(key, "a name has no ., spaces or wildcards")
        }
        ackWaitNanoseconds = jetstream.duration("ack_wait", default: 30_000_000_000, minimum: 1_000_000_000)
        maxAckPending = jetstream.int("max_ack_pending", default: 20_000, range: 1...10_000_000)
        jetstream.rejectUnknownKeys()
        batch = reader.int("batch", default: 1000, range: 1...100_000)
        maxBytes = reader.size("max_bytes", default: 8 << 20, range: 64 << 10...(256 << 20))
    }
}

extension NATSSource {
    /// `type: nats`.
    public static let registration = SourceRegistration(type: "nats") { NATSSource(name: $0, reading: $1, host: $2.host) }
}
