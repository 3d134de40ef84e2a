public import SluiceConfig
public import SluiceCore
import Logging
import NIOCore
import SluiceNATS
import SluiceSync

/// `type: nats`: reads a JetStream stream through a durable pull consumer (created when
/// missing), one event per line of a message (a `nats` sink's messages are NDJSON), and
/// acknowledges a message only once its event is taken
/// by every sink that holds the sources back: in a disk buffer, when the sink has one; handled
/// by the sink otherwise (see `SourceContext.isTaken`). Until then it is marked in progress
/// (`+WPI`) every third of `ack_wait`, so a slow sink does not make the server deliver it again.
///
/// A message delivered again (after a restart, a crash, or `ack_wait`) gives its events the
/// identities they had the first time: the stream's name, and the message's sequence in the
/// stream (shifted left 20 bits) plus the line's index, so an indexer's `_id` or a
/// `nats` sink's `Nats-Msg-Id` downstream keeps one copy. Several Sluices sharing one consumer
/// split the messages between them. On SIGTERM it stops asking for messages, waits (within the
/// grace period) until what it published is taken, acknowledges it, and ends; what is left
/// unacknowledged is delivered again later, never lost.
public final class NATSSource: Source, SettingsCarrying {
    public let name: String
    public let settings: SourceSettings
    private let nats: NATSSourceSettings
    private let host: String
    private let statistics = Locked(Statistics())
    private let logger = Logger(label: "sluice.source")

    struct Statistics {
        var redelivered = 0
        /// Delivered again with their events already published by this reader: acknowledged
        /// again, not published twice.
        var alreadyPublished = 0
        var acknowledged = 0
        var reconnects = 0
    }

    public init(name: String, reading reader: ConfigReader, host: String) {
        self.name = name
        self.host = host
        nats = NATSSourceSettings(reading: reader, sourceName: name)
        settings = SourceSettings(reading: reader)
    }

    public func metricSamples() -> [MetricSample] {
        let now = statistics.withLock { $0 }
        let labels = [("source", name)]
        return [
            MetricSample("sluice_nats_redelivered_total", .counter, help: "Messages the server delivered more than once.", labels: labels, value: Double(now.redelivered)),
            MetricSample("sluice_nats_redelivered_already_published_total", .counter, help: "Messages delivered again whose events this reader had already published: acknowledged again, not published twice.", labels: labels, value: Double(now.alreadyPublished)),
            MetricSample("sluice_nats_acknowledged_total", .counter, help: "Messages acknowledged once their events were taken.", labels: labels, value: Double(now.acknowledged)),
            MetricSample("sluice_nats_reconnects_total", .counter, help: "Connections made after the first.", labels: labels, value: Double(now.reconnects)),
        ]
    }

    public func run(_ context: SourceContext) throws {
        let reader = NATSPullReader(settings: nats, sourceName: name, logger: logger)
        defer { reader.close() }
        let metadata = settings.metadata(sourceName: name, stream: nil, host: host)
        let stream = Self.identity(ofStream: nats.stream)
        var awaiting: [(position: RingPosition, acks: [String])] = []
        var lastProgress = MonotonicClock.nowNanoseconds()
        // Twice what the consumer may have unacknowledged: an acknowledgement lost in flight is
        // for a message within that window.
        var published = RecentSequences(capacity: min(2 * nats.maxAckPending, 1 << 20))
        var ready = false
        while !context.shutdown.isDraining {
            guard reader.ensureConnected(shutdown: context.shutdown, onReconnect: { statistics.withLock { $0.reconnects += 1 } }) else { continue }
            if !ready {
                context.markReady()
                ready = true
            }
            reader.requestMoreIfIdle()
            let messages = reader.take(waitingNanoseconds: 100_000_000)
            if !messages.isEmpty {
                var encoding = BatchEncoding(context: context, format: settings.format, metadata: metadata, readSize: 64 * 1024)
                var sequences: [UInt64] = []
                var acks: [String] = []
                var acksOfRepeats: [String] = []
                for (message, info) in messages {
                    if info.deliveries > 1 { statistics.withLock { $0.redelivered += 1 } }
                    guard !published.contains(info.streamSequence) else {
                        acksOfRepeats.append(message.replyTo ?? "")
                        continue
                    }
                    published.insert(info.streamSequence)
                    message.payload.withUnsafeReadableBytes { payload in
                        Self.eachLine(of: payload) { index, line in
                            encoding.encodeMessage(line, truncated: false)
                            sequences.append(info.streamSequence << 20 | UInt64(index))
                        }
                    }
                    acks.append(message.replyTo ?? "")
                }
                if let batch = encoding.takeBatch() {
                    if batch.count == sequences.count { batch.assignOrigin(EventOrigin(stream: stream, sequences: sequences)) }
                    guard let position = context.publishTracked(batch) else { return }
                    awaiting.append((position, acks))
                }
                acknowledgeRepeats(acksOfRepeats, awaiting: &awaiting, reader: reader)
            }
            acknowledgeTaken(&awaiting, context: context, reader: reader)
            let now = MonotonicClock.nowNanoseconds()
            if !awaiting.isEmpty, now - lastProgress >= nats.ackWaitNanoseconds / 3 {
                reader.send(awaiting.flatMap(\.acks), body: "+WPI")
                lastProgress = now
            } else if awaiting.isEmpty {
                lastProgress = now
            }
        }
        // Draining: no more pulls; what was published is acknowledged once taken.
        while !awaiting.isEmpty && !context.shutdown.isStopping {
            acknowledgeTaken(&awaiting, context: context, reader: reader)
            if !awaiting.isEmpty { _ = context.shutdown.sleep(nanoseconds: 10_000_000) }
        }
        reader.flush()
        if !awaiting.isEmpty {
            logger.info("stopped with messages not yet acknowledged; the server delivers them again", metadata: [
                "source": "\(name)", "messages": "\(awaiting.reduce(0) { $0 + $1.acks.count })",
            ])
        }
    }

    private func acknowledgeTaken(_ awaiting: inout [(position: RingPosition, acks: [String])], context: SourceContext, reader: NATSPullReader) {
        var taken: [String] = []
        while let first = awaiting.first, context.isTaken(first.position) {
            taken += first.acks
            awaiting.removeFirst()
        }
        guard !taken.isEmpty else { return }
        reader.send(taken, body: "+ACK")
        statistics.withLock { $0.acknowledged += taken.count }
    }

    /// Messages delivered again whose events this reader already published: acknowledged with
    /// the last batch published (their first delivery is in it or before it), or now when
    /// everything published is taken.
    private func acknowledgeRepeats(_ acks: [String], awaiting: inout [(position: RingPosition, acks: [String])], reader: NATSPullReader) {
        guard !acks.isEmpty else { return }
        statistics.withLock { $0.alreadyPublished += acks.count }
        if awaiting.isEmpty {
            reader.send(acks, body: "+ACK")
            statistics.withLock { $0.acknowledged += acks.count }
        } else {
            awaiting[awaiting.count - 1].acks += acks
        }
    }

    /// Calls `body` with each non-empty line of a message (a message from a `nats` sink is
    /// NDJSON: one event per line) and its index.
    static func eachLine(of payload: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) {
        var start = 0
        var index = 0
        while start < payload.count {
            let end = payload[start...].firstIndex(of: 0x0A) ?? payload.count
            if end > start {
                body(index, UnsafeRawBufferPointer(rebasing: payload[start..<end]))
                index += 1
            }
            start = end + 1
        }
    }

    /// The events' stream (`EventOrigin`) for a JetStream stream: FNV-1a of `nats:` and its
    /// name, so every Sluice reading the stream, and every restart, numbers a message alike.
    static func identity(ofStream stream: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in ("nats:" + stream).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
