import Logging
public import SluiceCore
import SluiceSync

/// Ships events over HTTP in batches: the machinery under the `elasticsearch` and `http` sinks.
/// Events collect into a request until `max_events`, `max_bytes` or `timeout`; requests go to a
/// pool of `max_in_flight` workers that see each through (see `DeliveryPool`).
public final class HTTPDeliverySink: AcknowledgingSink, @unchecked Sendable {
    // @unchecked: `current` is only touched by the sink's thread; the pool and client are
    // thread-safe.
    public let settings: HTTPDeliverySettings
    private let format: any DeliveryFormat
    private let sinkName: String
    private let client: DeliveryClient
    private let pool: DeliveryPool
    private var current: RequestBatch?
    private let logger = Logger(label: "sluice.sink")

    /// Reads the TLS certificate and key (what can fail), and makes the sink for its runner.
    public static func maker(name: String, settings: HTTPDeliverySettings, format: any DeliveryFormat) throws -> SinkMaker {
        let tls = try DeliveryClient.tlsConfiguration(settings)
        return .acknowledging { report in
            HTTPDeliverySink(name: name, settings: settings, format: format, client: DeliveryClient(settings: settings, sinkName: name, tls: tls), report: report)
        }
    }

    /// A sink settling what it delivers in `report`.
    public convenience init(name: String, settings: HTTPDeliverySettings, format: any DeliveryFormat, report: DeliveryReport) throws {
        let client = DeliveryClient(settings: settings, sinkName: name, tls: try DeliveryClient.tlsConfiguration(settings))
        self.init(name: name, settings: settings, format: format, client: client, report: report)
    }

    private init(name: String, settings: HTTPDeliverySettings, format: any DeliveryFormat, client: DeliveryClient, report: DeliveryReport) {
        sinkName = name
        self.settings = settings
        self.format = format
        self.client = client
        pool = DeliveryPool(client: client, format: format, report: report, settings: settings, sinkName: name)
        if settings.healthCheck { checkHealth() }
    }

    public var flushIntervalNanoseconds: UInt64? { settings.batchTimeoutNanoseconds }

    public func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws {
        for position in 0..<batch.count {
            let request = current ?? newRequest()
            request.ticket = ticket
            format.append(batch[position], sourceName: batch.sourceName, to: request)
            if request.count >= settings.maxEvents || request.byteCount >= settings.maxBytes { submit() }
        }
    }

    /// Sends the open request once it is `timeout` old.
    public func flush() throws {
        guard let request = current, !request.isEmpty else { return }
        if MonotonicClock.nowNanoseconds() - request.createdAtNanoseconds >= settings.batchTimeoutNanoseconds * 9 / 10 { submit() }
    }

    public func finish() throws {
        submit()
        pool.close()
        client.shutdown()
    }

    private func newRequest() -> RequestBatch {
        let request = RequestBatch(capacity: min(settings.maxBytes + 64 * 1024, 1 << 20), nowNanoseconds: MonotonicClock.nowNanoseconds())
        current = request
        return request
    }

    private func submit() {
        guard let request = current, !request.isEmpty else { return }
        current = nil
        pool.submit(request)
    }

    /// `GET /` in the background: logs the server's name and version, or why it failed. Never
    /// holds up the start.
    private func checkHealth() {
        let client = client
        let logger = logger
        let name = sinkName
        NamedThread.detached(name: "check-\(name)") {
            do {
                let response = try client.get(path: "/")
                let version = response.body.withUnsafeBytes { body -> String in
                    let path = [Array("version".utf8), Array("number".utf8)]
                    guard let range = JSONLookup.value(atPath: path, inObject: body) else { return "unknown" }
                    return String(decoding: JSONLookup.stringContent(UnsafeRawBufferPointer(rebasing: body[range])) ?? UnsafeRawBufferPointer(rebasing: body[range]), as: UTF8.self)
                }
                if (200..<300).contains(response.status) {
                    logger.info("search cluster reachable", metadata: ["sink": "\(name)", "endpoint": "\(client.settings.endpoint)", "version": "\(version)"])
                } else {
                    logger.warning("search cluster answered the health check with an error", metadata: [
                        "sink": "\(name)", "endpoint": "\(client.settings.endpoint)", "status": "\(response.status)",
                    ])
                }
            } catch {
                logger.warning("search cluster not reachable yet; events wait and are retried", metadata: [
                    "sink": "\(name)", "endpoint": "\(client.settings.endpoint)", "error": "\(TransportErrorDescription.describe(error))",
                ])
            }
        }
    }
}
