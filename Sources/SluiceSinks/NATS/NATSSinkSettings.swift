public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore
public import SluiceNATS

/// A `nats` sink's settings.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `subject` | template | `logs.{source}` | where each event is published: `{source}` and `{field.path}` placeholders |
/// | `jetstream.stream` | name | none | publish with acknowledgements into this stream (it must exist and capture the subjects); without it, core NATS: no acknowledgement, no guarantee |
/// | `batch.max_events` | integer | `1000` | events per message at most (consecutive events of one batch with one subject) |
/// | `batch.max_bytes` | size | `512KiB` | a message's payload at most (and never over the server's `max_payload`) |
/// | `max_in_flight` | integer | `1024` | messages not yet acknowledged, at most |
/// | `ack_timeout` | duration | `5s` | a publish unacknowledged this long is sent again (same `Nats-Msg-Id`) |
/// | `retry.initial_backoff`, `retry.max_backoff` | durations | `100ms`, `5s` | between reconnects, and before a refused publish is tried again |
///
/// Plus the connection keys (`servers`, `auth`, `tls`, `connect_timeout`; see
/// `NATSClientSettings`).
public struct NATSSinkSettings: Sendable {
    public var client: NATSClientSettings
    public var subject: SubjectTemplate
    public var stream: String?
    public var maxInFlight: Int
    public var maxEventsPerMessage: Int
    public var maxBytesPerMessage: Int
    public var ackTimeoutNanoseconds: UInt64
    public var initialBackoffNanoseconds: UInt64
    public var maxBackoffNanoseconds: UInt64

    public init(
        client: NATSClientSettings, subject: SubjectTemplate, stream: String?, maxInFlight: Int = 1024,
        maxEventsPerMessage: Int = 1000, maxBytesPerMessage: Int = 512 << 10,
        ackTimeoutNanoseconds: UInt64 = 5_000_000_000, initialBackoffNanoseconds: UInt64 = 100_000_000, maxBackoffNanoseconds: UInt64 = 5_000_000_000
    ) {
        self.client = client
        self.subject = subject
        self.stream = stream
        self.maxInFlight = maxInFlight
        self.maxEventsPerMessage = maxEventsPerMessage
        self.maxBytesPerMessage = maxBytesPerMessage
        self.ackTimeoutNanoseconds = ackTimeoutNanoseconds
        self.initialBackoffNanoseconds = initialBackoffNanoseconds
        self.maxBackoffNanoseconds = maxBackoffNanoseconds
    }

    public init(reading reader: ConfigReader, sinkName: String) {
        let client = NATSClientSettings(reading: reader, clientName: "sluice sink \(sinkName)")
        let template = reader.string("subject", default: "logs.{source}")
        var subject = try! SubjectTemplate("logs.{source}")
        do {
            subject = try SubjectTemplate(template)
        } catch {
            reader.reportInvalid("subject", error.description)
        }
        var stream: String?
        if let jetstream = reader.optionalSection("jetstream") {
            stream = jetstream.requiredString("stream", hint: "the JetStream stream that captures the subjects, such as LOGS")
            if let name = stream, name.contains(where: { $0 == "." || $0 == " " || $0 == "*" || $0 == ">" }) {
                jetstream.reportInvalid("stream", "a stream name has no ., spaces or wildcards")
            }
            jetstream.rejectUnknownKeys()
        }
        let batch = reader.section("batch")
        let maxEvents = batch.int("max_events", default: 1000, range: 1...100_000)
        let maxBytes = batch.size("max_bytes", default: 512 << 10, range: 1024...(64 << 20))
        batch.rejectUnknownKeys()
        let retry = reader.section("retry")
        let initial = retry.duration("initial_backoff", default: 100_000_000, minimum: 1_000_000)
        let maximum = retry.duration("max_backoff", default: 5_000_000_000, minimum: 1_000_000)
        retry.rejectUnknownKeys()
        self.init(
            client: client, subject: subject, stream: stream,
            maxInFlight: reader.int("max_in_flight", default: 1024, range: 1...1_000_000),
            maxEventsPerMessage: maxEvents, maxBytesPerMessage: maxBytes,
            ackTimeoutNanoseconds: reader.duration("ack_timeout", default: 5_000_000_000, minimum: 10_000_000),
            initialBackoffNanoseconds: initial, maxBackoffNanoseconds: max(initial, maximum)
        )
    }
}

extension NATSSink {
    /// `type: nats` (a sink).
    public static let registration = SinkRegistration(type: "nats") { name, reader, _ in
        let settings = NATSSinkSettings(reading: reader, sinkName: name)
        return SinkBlueprint { .acknowledging { NATSSink(name: name, settings: settings, report: $0) } }
    }
}
