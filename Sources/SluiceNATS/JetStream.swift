import Glibc
import NIOCore
import SluiceText

/// The parts of the JetStream API Sluice uses, as requests on a `NATSConnection`: stream
/// information, creating a stream (tests and set-up), a durable pull consumer, and reading the
/// acknowledgements of publishes and the metadata of delivered messages.
public struct JetStream: Sendable {
    public let connection: NATSConnection
    public var timeoutNanoseconds: Int64

    public init(_ connection: NATSConnection, timeoutNanoseconds: Int64 = 5_000_000_000) {
        self.connection = connection
        self.timeoutNanoseconds = timeoutNanoseconds
    }

    /// A JetStream API call: the reply's JSON object, or the error it carries, named.
    public func call(_ api: String, _ body: [String: Any] = [:]) throws(NATSError) -> [String: Any] {
        let payload: [UInt8]
        do {
            payload = body.isEmpty ? [] : JSONAny.serialize(body)
        } catch {
            throw NATSError("cannot encode the \(api) request: \(error)")
        }
        let reply: NATSMessage
        do {
            reply = try connection.request("$JS.API." + api, payload: payload, timeoutNanoseconds: timeoutNanoseconds)
        } catch {
            throw NATSError("JetStream \(api): \(error.description) (is JetStream enabled on the server?)")
        }
        guard let object = JSONAny.object(reply.payload.readableBytesView) else {
            throw NATSError("JetStream \(api): the reply is not a JSON object")
        }
        if let error = JetStreamError(object["error"]) { throw NATSError("JetStream \(api): \(error)") }
        return object
    }

    /// The stream's configuration and state; nil when there is no such stream.
    public func streamInfo(_ stream: String) throws(NATSError) -> [String: Any]? {
        do {
            return try call("STREAM.INFO." + stream)
        } catch where error.description.contains("10059") {
            return nil
        }
    }

    /// Creates a stream (set-up and tests; Sluice never creates the streams it publishes to).
    public func addStream(_ config: [String: Any]) throws(NATSError) {
        _ = try call("STREAM.CREATE.\(config["name"] as? String ?? "")", config)
    }

    /// Creates the durable pull consumer `name` on `stream` with explicit acknowledgement, or
    /// updates the one that exists (its filter, ack wait and pending limit follow the
    /// configuration). Returns its configuration as the server keeps it.
    public func ensurePullConsumer(
        stream: String, name: String, filter: String?, ackWaitNanoseconds: Int64, maxAckPending: Int
    ) throws(NATSError) -> [String: Any] {
        var config: [String: Any] = [
            "durable_name": name, "ack_policy": "explicit", "deliver_policy": "all", "ack_wait": ackWaitNanoseconds,
            "max_ack_pending": maxAckPending, "replay_policy": "instant",
        ]
        if let filter { config["filter_subject"] = filter }
        return try call("CONSUMER.DURABLE.CREATE.\(stream).\(name)", ["stream_name": stream, "config": config])
    }

    /// The subject and body of a pull request for up to `batch` messages and `maxBytes` bytes
    /// (0: no limit), waiting at most `expiresNanoseconds` for them.
    public static func fetchRequest(stream: String, consumer: String, batch: Int, maxBytes: Int = 0, expiresNanoseconds: Int64) -> (subject: String, body: [UInt8]) {
        let limit = maxBytes > 0 ? ",\"max_bytes\":\(maxBytes)" : ""
        return ("$JS.API.CONSUMER.MSG.NEXT.\(stream).\(consumer)", Array("{\"batch\":\(batch)\(limit),\"expires\":\(expiresNanoseconds)}".utf8))
    }
}

/// A JetStream API error: `{"code":503,"err_code":10077,"description":"..."}`.
public struct JetStreamError: Sendable, CustomStringConvertible {
    public var code: Int
    public var errorCode: Int
    public var text: String

    init?(_ value: Any?) {
        guard let fields = value as? [String: Any] else { return nil }
        code = fields["code"] as? Int ?? 0
        errorCode = fields["err_code"] as? Int ?? 0
        text = fields["description"] as? String ?? "unknown error"
    }

    public var description: String { "\(text) (code \(code), err_code \(errorCode))" }
}

/// What the server answered to one JetStream publish.
public enum PublishAcknowledgement: Sendable, Equatable {
    /// Stored at `sequence`; `duplicate` when the stream had the message's `Nats-Msg-Id` within
    /// its duplicate window (a retry of a publish that was stored before).
    case stored(sequence: UInt64, duplicate: Bool)
    case refused(code: Int, errorCode: Int, text: String)
    /// Nobody answered for the subject (no stream captures it, or its leader is being elected).
    case noResponders

    /// Reads a PubAck (`{"stream":"LOGS","seq":12}`, with `"duplicate":true`, or an `"error"`).
    /// The stored case is read without Foundation: it is one per event.
    public static func read(_ message: NATSMessage) -> PublishAcknowledgement {
        if message.status == 503 { return .noResponders }
        let bytes = message.payload
        if let sequence = number(after: "\"seq\":", in: bytes), !contains("\"error\"", in: bytes) {
            // The server writes `"duplicate": true`, with a space.
            return .stored(sequence: sequence, duplicate: contains("\"duplicate\": true", in: bytes) || contains("\"duplicate\":true", in: bytes))
        }
        let object = JSONAny.object(bytes.readableBytesView)
        guard let error = JetStreamError(object?["error"]) else {
            return .refused(code: message.status ?? 0, errorCode: 0, text: "unreadable acknowledgement: \(String(decoding: bytes.readableBytesView.prefix(200), as: UTF8.self))")
        }
        return .refused(code: error.code, errorCode: error.errorCode, text: error.text)
    }

    private static func contains(_ needle: StaticString, in bytes: ByteBuffer) -> Bool {
        let pattern = UnsafeRawBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        return bytes.withUnsafeReadableBytes { haystack in
            guard haystack.count >= pattern.count else { return false }
            return (0...(haystack.count - pattern.count)).contains { start in
                memcmp(haystack.baseAddress! + start, pattern.baseAddress!, pattern.count) == 0
            }
        }
    }

    private static func number(after key: StaticString, in bytes: ByteBuffer) -> UInt64? {
        let pattern = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        return bytes.withUnsafeReadableBytes { haystack -> UInt64? in
            guard haystack.count >= pattern.count else { return nil }
            guard let start = (0...(haystack.count - pattern.count)).first(where: {
                memcmp(haystack.baseAddress! + $0, pattern.baseAddress!, pattern.count) == 0
            }) else { return nil }
            var value: UInt64 = 0
            var index = start + pattern.count
            var digits = 0
            while index < haystack.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(haystack[index]) {
                value = value &* 10 &+ UInt64(haystack[index] - UInt8(ascii: "0"))
                index += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
    }
}

/// What the reply subject of a message delivered by a JetStream consumer says about it:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`
/// (or the longer form with a domain and an account hash in front).
public struct DeliveredMessageInfo: Sendable, Equatable {
    public var stream: String
    public var consumer: String
    /// 1 the first time, more when redelivered.
    public var deliveries: Int
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    public var pending: UInt64

    public init?(replySubject: String) {
        let tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        // The v2 form has 12 or more tokens: $JS.ACK.<domain>.<account hash>.<stream>...
        let base = tokens.count >= 12 ? 4 : 2
        guard let deliveries = Int(tokens[base + 2]), let streamSequence = UInt64(tokens[base + 3]),
              let consumerSequence = UInt64(tokens[base + 4]), let pending = UInt64(tokens[base + 6]) else { return nil }
        stream = String(tokens[base])
        consumer = String(tokens[base + 1])
        self.deliveries = deliveries
        self.streamSequence = streamSequence
        self.consumerSequence = consumerSequence
        self.pending = pending
    }
}
