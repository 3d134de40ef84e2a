import Logging
import NIOCore
import SluiceCore
import SluiceNATS
import SluiceSync

/// A `nats` source's connection and pull consumer: connects (in turn to each server, with
/// backoff), makes sure the durable consumer exists, keeps one pull request outstanding, and
/// hands the messages it brings to the source's thread.
final class NATSPullReader: @unchecked Sendable {
    // @unchecked: `received` and `open` are shared with the event loop under `lock`; the rest is
    // only touched by the source's thread.
    private let settings: NATSSourceSettings
    private let sourceName: String
    private let logger: Logger
    private var rotation: NATSServerRotation
    private var connection: NATSConnection?
    private var inbox = ""
    private var backoff: UInt64 = 100_000_000
    private var made = 0
    private let lock = ConditionLock()
    private var received: [(NATSMessage, DeliveredMessageInfo)] = []
    /// Messages the outstanding pull request may still bring, and when it ends at the latest.
    private var open = (messages: 0, until: UInt64(0))
    private static let expiresNanoseconds: Int64 = 1_000_000_000

    init(settings: NATSSourceSettings, sourceName: String, logger: Logger) {
        self.settings = settings
        self.sourceName = sourceName
        self.logger = logger
        rotation = NATSServerRotation(settings.client)
    }

    /// True with an open connection and the consumer in place; otherwise waits a backoff (or
    /// until the drain) and returns false.
    func ensureConnected(shutdown: ShutdownSignal, onReconnect: () -> Void) -> Bool {
        if let connection, connection.isOpen { return true }
        connection = nil
        lock.withLock { open = (0, 0) }
        switch rotation.connect(options: settings.client.options, onClose: { [weak self] _ in self?.wake() }) {
        case .success(let connected):
            do {
                _ = try JetStream(connected).ensurePullConsumer(
                    stream: settings.stream, name: settings.consumer, filter: settings.filter,
                    ackWaitNanoseconds: Int64(settings.ackWaitNanoseconds), maxAckPending: settings.maxAckPending
                )
            } catch {
                connected.close()
                return wait(after: error, shutdown: shutdown)
            }
            inbox = NATSConnection.newInbox()
            _ = connected.subscribe(inbox + "pull") { [weak self] message in self?.arrived(message) }
            connection = connected
            backoff = 100_000_000
            made += 1
            if made > 1 { onReconnect() }
            logger.info(made > 1 ? "reconnected to NATS" : "reading from NATS", metadata: [
                "source": "\(sourceName)", "server": "\(connected.address)", "stream": "\(settings.stream)", "consumer": "\(settings.consumer)",
            ])
            return true
        case .failure(let error):
            return wait(after: error, shutdown: shutdown)
        }
    }

    private func wait(after error: NATSError, shutdown: ShutdownSignal) -> Bool {
        logger.warning("cannot read from NATS yet; trying again", metadata: ["source": "\(sourceName)", "error": "\(error.description)"])
        var slept: UInt64 = 0
        while slept < backoff && !shutdown.isDraining {
            _ = shutdown.sleep(nanoseconds: 50_000_000)
            slept += 50_000_000
        }
        backoff = min(backoff * 2, 5_000_000_000)
        return false
    }

    /// Asks for the next `batch` messages when no pull request is outstanding.
    func requestMoreIfIdle() {
        guard let connection else { return }
        let now = MonotonicClock.nowNanoseconds()
        let idle = lock.withLock { () -> Bool in
            guard open.messages == 0 || now >= open.until else { return false }
            open = (settings.batch, now + UInt64(Self.expiresNanoseconds) + 1_000_000_000)
            return true
        }
        guard idle else { return }
        let request = JetStream.fetchRequest(
            stream: settings.stream, consumer: settings.consumer, batch: settings.batch,
            // Never below the server's largest message: one that does not fit would end every request.
            maxBytes: max(settings.maxBytes, connection.info.maxPayload + 4096), expiresNanoseconds: Self.expiresNanoseconds
        )
        var buffer = connection.allocator.buffer(capacity: 128)
        request.body.withUnsafeBytes { NATSWire.appendPublish(to: &buffer, subject: request.subject.utf8, reply: (inbox + "pull").utf8, payload: $0) }
        connection.write(buffer)
    }

    /// The messages that arrived, waiting up to `waitingNanoseconds` for the first.
    func take(waitingNanoseconds: UInt64) -> [(NATSMessage, DeliveredMessageInfo)] {
        let deadline = MonotonicClock.nowNanoseconds() + waitingNanoseconds
        return lock.withLock {
            while received.isEmpty && open.messages > 0 && connection?.isOpen == true {
                guard lock.wait(deadlineNanoseconds: deadline) else { break }
            }
            defer { received.removeAll(keepingCapacity: true) }
            return received
        }
    }

    /// Publishes `body` (`+ACK`, `+WPI`) to each reply subject.
    func send(_ replies: [String], body: StaticString) {
        guard let connection, !replies.isEmpty else { return }
        var buffer = connection.allocator.buffer(capacity: replies.count * 96)
        let payload = UnsafeRawBufferPointer(start: body.utf8Start, count: body.utf8CodeUnitCount)
        for reply in replies where !reply.isEmpty {
            NATSWire.appendPublish(to: &buffer, subject: reply.utf8, reply: EmptyCollection(), payload: payload)
        }
        connection.write(buffer)
    }

    /// Waits until the server has handled what was sent (the last acknowledgements).
    func flush() {
        try? connection?.flush(timeoutNanoseconds: 2_000_000_000)
    }

    func close() {
        connection?.close()
        connection = nil
    }

    // The event loop's side.

    private func arrived(_ message: NATSMessage) {
        lock.withLock {
            if let status = message.status, message.replyTo == nil {
                // 404 (nothing there), 408 (the request expired), 409 (its max_bytes reached,
                // or the consumer changed): the pull request is over. 100 is a heartbeat.
                if status != 100 { open.messages = 0 }
            } else if let reply = message.replyTo, let info = DeliveredMessageInfo(replySubject: reply) {
                received.append((message, info))
                open.messages = max(0, open.messages - 1)
            }
            lock.signal()
        }
    }

    private func wake() {
        lock.withLock { lock.signal() }
    }
}
