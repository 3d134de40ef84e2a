import FoundationEssentials
import SluiceText
public import NIOCore

/// What a NATS server sends: its `INFO`, messages, keep-alives, and errors.
public enum NATSInbound: Sendable {
    case info(NATSServerInfo)
    case message(NATSMessage)
    case ping
    case pong
    case ok
    /// `-ERR '...'`: the text between the quotes.
    case error(String)
}

/// A message delivered to one of the connection's subscriptions (`MSG` or `HMSG`).
public struct NATSMessage: Sendable {
    public var subject: String
    public var sid: Int
    public var replyTo: String?
    /// The status of a header block's first line (`NATS/1.0 503`): 503 is "no responders",
    /// 404, 408 and 409 end a JetStream pull request, 100 is a heartbeat. Nil without one.
    public var status: Int?
    public var statusDescription: String
    public var headers: [(name: String, value: String)]
    public var payload: ByteBuffer

    /// The value of header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The server's `INFO`: who it is, and what the client must know to talk to it.
public struct NATSServerInfo: Sendable, Decodable {
    public var serverID: String
    public var version: String
    public var headers: Bool
    public var maxPayload: Int
    public var tlsRequired: Bool
    public var authRequired: Bool
    /// Other servers of the cluster a client may connect to.
    public var connectURLs: [String]
    public var jetStream: Bool
    /// What a client with an NKey signs in its `CONNECT`.
    public var nonce: String?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id", version, headers, maxPayload = "max_payload", tlsRequired = "tls_required"
        case authRequired = "auth_required", connectURLs = "connect_urls", jetStream = "jetstream", nonce
    }

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try values.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        version = try values.decodeIfPresent(String.self, forKey: .version) ?? "unknown"
        headers = try values.decodeIfPresent(Bool.self, forKey: .headers) ?? false
        maxPayload = try values.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1 << 20
        tlsRequired = try values.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        authRequired = try values.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
        connectURLs = try values.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
        jetStream = try values.decodeIfPresent(Bool.self, forKey: .jetStream) ?? false
        nonce = try values.decodeIfPresent(String.self, forKey: .nonce)
    }
}

/// Splits the server's byte stream into `NATSInbound` operations.
struct NATSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = NATSInbound

    /// A control line longer than this is a protocol error (the server's own limit is 4 KiB).
    static let maxControlLine = 64 * 1024

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > Self.maxControlLine { throw NATSError("the server sent a control line over \(Self.maxControlLine) bytes") }
            return .needMoreData
        }
        var lineEnd = newline
        if lineEnd > view.startIndex, view[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let line = view[view.startIndex..<lineEnd]
        let lineBytes = newline + 1 - view.startIndex
        let verb = line.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        switch verb.count {
        case 3 where Self.equal(verb, "MSG"), 4 where Self.equal(verb, "HMSG"):
            let arguments = line.dropFirst(verb.count).split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            let hasHeaders = verb.count == 4
            guard arguments.count == (hasHeaders ? 4 : 3) || arguments.count == (hasHeaders ? 5 : 4),
                  let total = Self.decimal(arguments[arguments.count - 1]), let sid = Self.decimal(arguments[1]) else {
                throw NATSError("the server sent a malformed \(hasHeaders ? "HMSG" : "MSG") line")
            }
            let headerSize = hasHeaders ? Self.decimal(arguments[arguments.count - 2]) : 0
            guard let headerSize, headerSize <= total else { throw NATSError("the server sent a malformed HMSG line") }
            guard buffer.readableBytes >= lineBytes + total + 2 else { return .needMoreData }
            let replyCount = hasHeaders ? 5 : 4
            var message = NATSMessage(
                subject: String(decoding: arguments[0], as: UTF8.self), sid: sid,
                replyTo: arguments.count == replyCount ? String(decoding: arguments[2], as: UTF8.self) : nil,
                status: nil, statusDescription: "", headers: [], payload: ByteBuffer()
            )
            buffer.moveReaderIndex(forwardBy: lineBytes)
            if headerSize > 0, let block = buffer.readSlice(length: headerSize) {
                Self.readHeaders(block, into: &message)
            }
            message.payload = buffer.readSlice(length: total - headerSize) ?? ByteBuffer()
            buffer.moveReaderIndex(forwardBy: 2)
            context.fireChannelRead(wrapInboundOut(.message(message)))
        default:
            let text = String(decoding: line, as: UTF8.self)
            buffer.moveReaderIndex(forwardBy: lineBytes)
            switch verb.uppercasedASCII {
            case "PING": context.fireChannelRead(wrapInboundOut(.ping))
            case "PONG": context.fireChannelRead(wrapInboundOut(.pong))
            case "+OK": context.fireChannelRead(wrapInboundOut(.ok))
            case "-ERR":
                let reason = String(text.dropFirst(4).trimmed { $0 == " " || $0 == "'" })
                context.fireChannelRead(wrapInboundOut(.error(reason)))
            case "INFO":
                let json = Data(text.dropFirst(4).utf8)
                let info = try JSONDecoder().decode(NATSServerInfo.self, from: json)
                context.fireChannelRead(wrapInboundOut(.info(info)))
            case "":
                break
            default:
                throw NATSError("the server sent an unknown operation \"\(text.prefix(40))\"")
            }
        }
        return .continue
    }

    /// `NATS/1.0[ status[ description]]\r\n` then `Name: value\r\n` lines.
    private static func readHeaders(_ block: ByteBuffer, into message: inout NATSMessage) {
        let text = String(buffer: block)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        if let first = lines.first, first.hasPrefix("NATS/") {
            let parts = first.split(separator: " ", maxSplits: 2)
            if parts.count >= 2 { message.status = Int(parts[1]) }
            if parts.count == 3 { message.statusDescription = String(parts[2]) }
            lines = lines.dropFirst()
        }
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            message.headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].trimmed())))
        }
    }

    private static func equal(_ bytes: some Collection<UInt8>, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && zip(bytes, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
            .allSatisfy { $0 & 0xDF == $1 & 0xDF }
    }

    static func decimal(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

extension Collection<UInt8> {
    fileprivate var uppercasedASCII: String {
        String(decoding: map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) ? $0 - 32 : $0 }, as: UTF8.self)
    }
}
