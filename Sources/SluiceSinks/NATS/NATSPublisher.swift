import Logging
import NIOCore
import SluiceCore
import SluiceNATS
import SluiceSync

/// The delivery side of a `nats` sink with JetStream: events go in messages (a run of one
/// batch's events with one subject, as NDJSON), each published with a reply subject of its own
/// (`<inbox>.<number>`) and a `Nats-Msg-Id` header carrying its events' identity, up to
/// `max_in_flight` at once on one connection, and settled only by its PubAck: delivered when
/// stored (or already stored: a duplicate of an earlier try), dropped with its reason when the
/// stream refuses it for good. A publish whose ack does not come within `ack_timeout`, or whose
/// connection is lost, is sent again with the same id, so the stream's duplicate window stores
/// it once; a refusal that can pass (no responders while a leader is elected, a full stream)
/// is tried again after a backoff under `block`, and dropped (counted) under the drop policies.
///
/// Threads: the sink's thread publishes and looks after the connection (`publish`, `maintain`,
/// `drain`); the connection's event loop reads acks (`acknowledged`). They share `state`,
/// under `lock`, whose condition wakes the sink's thread when room frees up.
final class NATSPublisher: @unchecked Sendable {
    // @unchecked: `state` is only touched under `lock`; `rotation`, `outgoing`, `nextID`,
    // `nextConnectAttempt`, `connectBackoff` and `splitter` only by the sink's thread.
    let settings: NATSSinkSettings
    /// Where publishes are settled as their acknowledgements come.
    private let report: DeliveryReport
    let sinkName: String
    private let stream: String
    private let lock = ConditionLock()
    private var state = State()
    private var rotation: NATSServerRotation
    private let inbox = NATSConnection.newInbox()
    private var nextID: UInt64 = 1
    private var nextConnectAttempt: UInt64 = 0
    private var connectBackoff: UInt64
    private var splitter: NATSMessageSplitter
    private let logger = Logger(label: "sluice.sink")

    /// One message: a run of a batch's events with one subject.
    struct Pending {
        let batch: EventBatch
        let events: Range<Int>
        let subject: String
        let ticket: DeliveryTicket
        /// When it was last written; 0 while it waits to be (re)sent at `retryAt`.
        var sentAt: UInt64
        var retryAt: UInt64 = 0
        var attempts: Int = 0
    }

    struct State {
        var connection: NATSConnection?
        var pending: [UInt64: Pending] = [:]
        /// The payload bytes of `pending`.
        var pendingBytes = 0
        /// Publishes taken out of `pending` whose events are being settled in the report right
        /// now (outside the lock): the drain waits for them too, so the summary counts them.
        var settling = 0
        var duplicates = 0
        var connected = false
        var reconnects = 0
        var noResponders = 0
        var refused = 0
        /// A problem is shown on `/readyz` (no responders, a refusal) until a publish is stored.
        var troubled = false
        /// When each kind of trouble was last logged, so an outage logs once in a while.
        var lastLogged: [String: UInt64] = [:]
    }

    /// Payload awaiting acknowledgement at most, beside `max_in_flight` messages: what the
    /// sink holds (its batches stay alive until their messages are stored).
    static let maxInFlightBytes = 16 << 20

    init(settings: NATSSinkSettings, stream: String, sinkName: String, report: DeliveryReport) {
        self.report = report
        self.settings = settings
        self.stream = stream
        self.sinkName = sinkName
        rotation = NATSServerRotation(settings.client)
        connectBackoff = settings.initialBackoffNanoseconds
        splitter = NATSMessageSplitter(settings: settings)
    }

    var inFlight: Int { lock.withLock { state.pending.count } }

    func metricSamples() -> [MetricSample] {
        let (pending, duplicates, reconnects, noResponders, refused) = lock.withLock {
            (state.pending.count, state.duplicates, state.reconnects, state.noResponders, state.refused)
        }
        let labels = [("sink", sinkName)]
        return [
            MetricSample("sluice_nats_in_flight", .gauge, help: "Publishes awaiting their JetStream acknowledgement.", labels: labels, value: Double(pending)),
            MetricSample("sluice_nats_duplicates_total", .counter, help: "Publishes the stream had stored already (a retry after a lost ack).", labels: labels, value: Double(duplicates)),
            MetricSample("sluice_nats_reconnects_total", .counter, help: "Connections made after the first.", labels: labels, value: Double(reconnects)),
            MetricSample("sluice_nats_no_responders_total", .counter, help: "Publishes nobody answered (no stream for the subject, or a leader election).", labels: labels, value: Double(noResponders)),
            MetricSample("sluice_nats_refused_total", .counter, help: "Publishes the stream refused.", labels: labels, value: Double(refused)),
        ]
    }

    // MARK: The sink's thread

    /// Publishes a batch's events, as messages of up to `batch.max_events` events and
    /// `batch.max_bytes` bytes with one subject, waiting for room under `block`; under the drop
    /// policies the events that find `max_in_flight` messages outstanding are dropped as
    /// `sink_busy`.
    func publish(_ batch: EventBatch, ticket: DeliveryTicket, report: DeliveryReport) {
        let messages = splitter.split(batch, maxBytes: maxMessageBytes)
        var next = 0
        while next < messages.count {
            let room = waitForRoom(blocking: report.whenFull == .block, report: report)
            guard room > 0 else {
                report.dropped(ticket, .sinkBusy, events: batch.count - messages[next].events.lowerBound)
                return
            }
            let chunk = messages[next..<min(messages.count, next + room)]
            let now = MonotonicClock.nowNanoseconds()
            let first = nextID
            nextID += UInt64(chunk.count)
            let connection = lock.withLock { () -> NATSConnection? in
                let connected = state.connection
                for (offset, message) in chunk.enumerated() {
                    state.pending[first + UInt64(offset)] = Pending(
                        batch: batch, events: message.events, subject: message.subject, ticket: ticket, sentAt: connected == nil ? 0 : now
                    )
                    state.pendingBytes += batch.bytes(ofEvents: message.events).count
                }
                return connected
            }
            if let connection {
                var buffer = connection.allocator.buffer(capacity: batch.bytes(ofEvents: chunk.first!.events.lowerBound..<chunk.last!.events.upperBound).count + chunk.count * 160)
                for (offset, message) in chunk.enumerated() {
                    encode(id: first + UInt64(offset), batch: batch, events: message.events, subject: message.subject, into: &buffer)
                }
                connection.write(buffer)
            }
            next += chunk.count
        }
    }

    /// `batch.max_bytes`, or less when the server takes less (its `max_payload`).
    private var maxMessageBytes: Int {
        min(settings.maxBytesPerMessage, (lock.withLock { state.connection?.info.maxPayload } ?? .max) - 1024)
    }

    /// Room for more publishes; under `block` waits (looking after the connection) until there
    /// is some or the stop allows no more waiting.
    private func waitForRoom(blocking: Bool, report: DeliveryReport) -> Int {
        while true {
            let room = lock.withLock { state.pendingBytes < Self.maxInFlightBytes ? settings.maxInFlight - state.pending.count : 0 }
            if room > 0 { return room }
            if !blocking || report.shutdown.isStopping { return 0 }
            maintain()
            lock.withLock {
                if state.pending.count >= settings.maxInFlight || state.pendingBytes >= Self.maxInFlightBytes {
                    _ = lock.wait(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 50_000_000)
                }
            }
        }
    }

    /// Connects when there is no connection (with backoff), and sends again what is due: what
    /// waited for a connection or a retry, and what was not acknowledged within `ack_timeout`.
    func maintain() {
        let now = MonotonicClock.nowNanoseconds()
        guard let connection = connection(now: now) else { return }
        var due: [UInt64] = []
        var retried = 0
        lock.withLock {
            for (id, entry) in state.pending {
                let resend = entry.sentAt == 0 ? entry.retryAt <= now : now - entry.sentAt >= settings.ackTimeoutNanoseconds
                guard resend else { continue }
                if entry.attempts > 0 || entry.sentAt > 0 { retried += 1 }
                state.pending[id]!.sentAt = now
                state.pending[id]!.attempts += 1
                due.append(id)
            }
        }
        guard !due.isEmpty else { return }
        due.sort()
        let entries = lock.withLock { due.compactMap { id in state.pending[id].map { (id, $0) } } }
        var buffer = connection.allocator.buffer(capacity: entries.count * 512)
        for (id, entry) in entries { encode(id: id, batch: entry.batch, events: entry.events, subject: entry.subject, into: &buffer) }
        connection.write(buffer)
        if retried > 0 { report.counters.retries.add(retried) }
    }

    /// The open connection, or a new one when the backoff allows; nil while there is none.
    private func connection(now: UInt64) -> NATSConnection? {
        if let open = lock.withLock({ state.connection }), open.isOpen { return open }
        guard now >= nextConnectAttempt else { return nil }
        let result = rotation.connect(options: settings.client.options) { [weak self] reason in self?.lost(reason) }
        switch result {
        case .failure(let error):
            nextConnectAttempt = now + connectBackoff
            connectBackoff = min(connectBackoff * 2, settings.maxBackoffNanoseconds)
            let problem = "cannot reach NATS: \(error.description)"
            logOnce("connect", now: now) { logger.warning("NATS not reachable; events wait and are retried", metadata: ["sink": "\(sinkName)", "error": "\(error.description)"]) }
            report.setProblem(problem)
            return nil
        case .success(let connection):
            connectBackoff = settings.initialBackoffNanoseconds
            _ = connection.subscribe(inbox + "*") { [weak self] message in self?.acknowledged(message) }
            let first = lock.withLock { () -> Bool in
                let first = !state.connected
                if !first { state.reconnects += 1 }
                state.connected = true
                state.connection = connection
                for id in state.pending.keys { state.pending[id]!.sentAt = 0 }
                return first
            }
            report.setProblem(nil)
            logger.info(first ? "connected to NATS" : "reconnected to NATS", metadata: [
                "sink": "\(sinkName)", "server": "\(connection.address)", "version": "\(connection.info.version)", "stream": "\(stream)",
            ])
            checkStream(on: connection)
            return connection
        }
    }

    /// Says plainly when the stream does not exist (publishes would find no responders).
    private func checkStream(on connection: NATSConnection) {
        do {
            if try JetStream(connection).streamInfo(stream) == nil {
                logger.error("the JetStream stream does not exist; events wait until it is created", metadata: ["sink": "\(sinkName)", "stream": "\(stream)"])
                report.setProblem("JetStream stream \(stream) does not exist")
            }
        } catch {
            logger.warning("cannot read the JetStream stream's information", metadata: ["sink": "\(sinkName)", "stream": "\(stream)", "error": "\(error.description)"])
        }
    }

    /// At the end: waits for every outstanding publish to be acknowledged (sending again what is
    /// due) until the stop allows no more waiting; what is left is dropped as `shutdown` (a disk
    /// buffer keeps it for the next start).
    func drain() {
        while lock.withLock({ !state.pending.isEmpty }) && !report.shutdown.isStopping {
            maintain()
            lock.withLock { if !state.pending.isEmpty { _ = lock.wait(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 20_000_000) } }
        }
        let (left, connection) = lock.withLock { () -> ([Pending], NATSConnection?) in
            // Acknowledgements taken a moment ago are counted before the sink says it finished.
            while state.settling > 0 { _ = lock.wait(deadlineNanoseconds: nil) }
            defer {
                state.pending.removeAll()
                state.pendingBytes = 0
                state.connection = nil
            }
            return (Array(state.pending.values), state.connection)
        }
        for entry in left { report.dropped(entry.ticket, .shutdown, events: entry.events.count) }
        connection?.close()
    }

    private func logOnce(_ kind: String, now: UInt64, _ log: () -> Void) {
        let due = lock.withLock { () -> Bool in
            guard now >= (state.lastLogged[kind] ?? 0) else { return false }
            state.lastLogged[kind] = now + 10_000_000_000
            return true
        }
        if due { log() }
    }

    // MARK: Encoding

    /// `HPUB <subject> <inbox><id> <header size> <total size>` with
    /// `Nats-Msg-Id: <stream>-<first sequence>-<events>` (the identity of the first event, as the
    /// indexer's `_id`, and how many follow it), and the events as NDJSON.
    private func encode(id: UInt64, batch: EventBatch, events: Range<Int>, subject: String, into buffer: inout ByteBuffer) {
        let first = batch[events.lowerBound]
        let payload = batch.bytes(ofEvents: events)
        let headerSize = 10 + 13 + 16 + 1 + Self.decimalDigits(first.sequence) + 1 + Self.decimalDigits(UInt64(events.count)) + 4
        buffer.writeStaticString("HPUB ")
        buffer.writeString(subject)
        buffer.writeStaticString(" ")
        buffer.writeString(inbox)
        Self.appendDecimal(id, to: &buffer)
        buffer.writeStaticString(" ")
        Self.appendDecimal(UInt64(headerSize), to: &buffer)
        buffer.writeStaticString(" ")
        Self.appendDecimal(UInt64(headerSize + payload.count), to: &buffer)
        buffer.writeStaticString("\r\nNATS/1.0\r\nNats-Msg-Id: ")
        Self.appendHex(first.stream, to: &buffer)
        buffer.writeStaticString("-")
        Self.appendDecimal(first.sequence, to: &buffer)
        buffer.writeStaticString("-")
        Self.appendDecimal(UInt64(events.count), to: &buffer)
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(payload)
        buffer.writeStaticString("\r\n")
    }

    static func decimalDigits(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    static func appendDecimal(_ value: UInt64, to buffer: inout ByteBuffer) {
        var divisor: UInt64 = 1
        for _ in 1..<decimalDigits(value) { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    static func appendHex(_ value: UInt64, to buffer: inout ByteBuffer) {
        let digits: StaticString = "0123456789abcdef"
        for shift in stride(from: 60, through: 0, by: -4) {
            buffer.writeInteger(digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
        }
    }

    // MARK: The event loop

    /// A PubAck (or a status) for publish `<inbox><id>`.
    private func acknowledged(_ message: NATSMessage) {
        guard message.subject.utf8.count > inbox.utf8.count, let id = UInt64(message.subject.dropFirst(inbox.count)) else { return }
        let acknowledgement = PublishAcknowledgement.read(message)
        let now = MonotonicClock.nowNanoseconds()
        var settled: Pending?
        var dropReason: DropReason?
        var trouble: String?
        var recovered = false
        let found = lock.withLock { () -> Bool in
            guard var entry = state.pending[id] else { return false }
            switch acknowledgement {
            case .stored(_, let duplicate):
                if duplicate { state.duplicates += 1 }
                settled = state.pending.removeValue(forKey: id)
                state.settling += 1
                recovered = state.troubled
                state.troubled = false
                state.pendingBytes -= entry.batch.bytes(ofEvents: entry.events).count
            case .noResponders:
                state.noResponders += 1
                trouble = "no responders for the subject: no stream captures it, or its leader is being elected"
                entry.sentAt = 0
                entry.retryAt = now + backoff(attempts: entry.attempts)
                state.pending[id] = entry
            case .refused(let code, let errorCode, let text):
                state.refused += 1
                trouble = "the stream refused a publish: \(text) (code \(code), err_code \(errorCode))"
                if [503, 429, 408].contains(code) && report.whenFull == .block {
                    entry.sentAt = 0
                    entry.retryAt = now + backoff(attempts: entry.attempts)
                    state.pending[id] = entry
                } else {
                    settled = state.pending.removeValue(forKey: id)
                    state.settling += 1
                state.settling += 1
                    state.pendingBytes -= entry.batch.bytes(ofEvents: entry.events).count
                    dropReason = [503, 429, 408].contains(code) ? .sinkError : .rejected
                }
            }
            if trouble != nil { state.troubled = true }
            if state.pending.count < settings.maxInFlight && state.pendingBytes < Self.maxInFlightBytes { lock.signal() }
            return true
        }
        guard found else { return }
        if recovered { report.setProblem(nil) }
        if let trouble {
            report.setProblem(trouble)
            logOnce(trouble, now: now) { logger.warning("NATS publish not stored", metadata: ["sink": "\(sinkName)", "stream": "\(stream)", "reason": "\(trouble)"]) }
        }
        guard let settled else { return }
        if let dropReason {
            report.dropped(settled.ticket, dropReason, events: settled.events.count)
        } else {
            report.delivered(settled.ticket, events: settled.events.count, bytes: settled.batch.bytes(ofEvents: settled.events).count)
        }
        lock.withLock {
            state.settling -= 1
            lock.broadcast()
        }
    }

    /// Doubling from `retry.initial_backoff` up to `retry.max_backoff`, with up to 25% jitter.
    private func backoff(attempts: Int) -> UInt64 {
        let base = settings.initialBackoffNanoseconds << UInt64(min(max(attempts - 1, 0), 20))
        let capped = min(base, settings.maxBackoffNanoseconds)
        return capped - UInt64.random(in: 0...(capped / 4))
    }

    /// The connection closed under it: everything outstanding goes again on the next one.
    private func lost(_ reason: NATSError) {
        lock.withLock {
            state.connection = nil
            for id in state.pending.keys {
                state.pending[id]!.sentAt = 0
                state.pending[id]!.retryAt = 0
            }
            lock.signal()
        }
        let now = MonotonicClock.nowNanoseconds()
        logOnce("lost", now: now) { logger.warning("NATS connection lost; outstanding publishes are sent again", metadata: ["sink": "\(sinkName)", "error": "\(reason.description)"]) }
    }
}
