import Logging
import NIOCore
public import SluiceCore
import SluiceNATS

/// `type: nats`: publishes events as NDJSON messages (runs of consecutive events with one subject,
/// see `NATSMessageSplitter`) to a subject rendered per event.
///
/// With `jetstream.stream` each publish is acknowledged by the stream (`NATSPublisher`): an
/// event counts as delivered, and leaves a disk buffer, only on its PubAck, and a retry carries
/// the same `Nats-Msg-Id`, so the stream's duplicate window keeps one copy. Without it the sink
/// speaks core NATS: an event counts as delivered once the kernel has taken the bytes, and a
/// connection lost with bytes in flight loses them (counted when the write fails); use it for
/// fire-and-forget fan-out only.
public final class NATSSink: AcknowledgingSink, @unchecked Sendable {
    // @unchecked: everything mutable is touched only by the sink's thread, or lives in the
    // publisher and the core link, which lock what they share.
    public let settings: NATSSinkSettings
    private let name: String
    private let publisher: NATSPublisher?
    private let core: CoreNATSLink?
    private let report: DeliveryReport

    public init(name: String, settings: NATSSinkSettings, report: DeliveryReport) {
        self.name = name
        self.settings = settings
        self.report = report
        if let stream = settings.stream {
            publisher = NATSPublisher(settings: settings, stream: stream, sinkName: name, report: report)
            core = nil
        } else {
            publisher = nil
            core = CoreNATSLink(settings: settings, sinkName: name)
        }
    }

    public var flushIntervalNanoseconds: UInt64? { 100_000_000 }

    public func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws {
        if let publisher {
            publisher.publish(batch, ticket: ticket, report: report)
        } else {
            core?.publish(batch, ticket: ticket, report: report)
        }
    }

    /// While idle: reconnects, and sends again what is due.
    public func flush() throws {
        publisher?.maintain()
    }

    public func finish() throws {
        publisher?.drain()
        core?.close()
    }

    public func metricSamples() -> [MetricSample] {
        publisher?.metricSamples() ?? []
    }
}

/// Core NATS publishing: `PUB` without acknowledgement, on a connection made again (with
/// backoff) when lost. Under `block` the sink waits for a connection; under the drop policies
/// what finds none is dropped as `sink_error`.
final class CoreNATSLink: @unchecked Sendable {
    // @unchecked: only the sink's thread calls in; the write callbacks touch only the report.
    private let settings: NATSSinkSettings
    private let sinkName: String
    private var rotation: NATSServerRotation
    private var connection: NATSConnection?
    private var splitter: NATSMessageSplitter
    private var backoff: UInt64
    private let logger = Logger(label: "sluice.sink")

    init(settings: NATSSinkSettings, sinkName: String) {
        self.settings = settings
        self.sinkName = sinkName
        rotation = NATSServerRotation(settings.client)
        backoff = settings.initialBackoffNanoseconds
        splitter = NATSMessageSplitter(settings: settings)
    }

    func publish(_ batch: EventBatch, ticket: DeliveryTicket, report: DeliveryReport) {
        guard let connection = connected(report: report) else {
            report.dropped(ticket, report.shutdown.isStopping ? .shutdown : .sinkError, events: batch.count)
            return
        }
        let messages = splitter.split(batch, maxBytes: connection.info.maxPayload - 1024)
        var buffer = connection.allocator.buffer(capacity: batch.bytes.count + messages.count * 64)
        for message in messages {
            NATSWire.appendPublish(to: &buffer, subject: message.subject.utf8, reply: EmptyCollection(), payload: batch.bytes(ofEvents: message.events))
        }
        let events = batch.count
        let bytes = batch.bytes.count
        connection.write(buffer).whenComplete { result in
            switch result {
            case .success: report.delivered(ticket, events: events, bytes: bytes)
            case .failure: report.dropped(ticket, .sinkError, events: events)
            }
        }
    }

    /// The connection, made again when lost; under `block` waits for one (until the stop).
    private func connected(report: DeliveryReport) -> NATSConnection? {
        while true {
            if let connection, connection.isOpen { return connection }
            switch rotation.connect(options: settings.client.options, onClose: { _ in }) {
            case .success(let made):
                connection = made
                backoff = settings.initialBackoffNanoseconds
                report.setProblem(nil)
                logger.info("connected to NATS (core, no acknowledgements)", metadata: ["sink": "\(sinkName)", "server": "\(made.address)"])
                return made
            case .failure(let error):
                report.setProblem("cannot reach NATS: \(error.description)")
                guard report.whenFull == .block, !report.shutdown.isStopping else { return nil }
                _ = report.shutdown.sleep(nanoseconds: backoff)
                backoff = min(backoff * 2, settings.maxBackoffNanoseconds)
            }
        }
    }

    func close() {
        connection?.close()
        connection = nil
    }
}
