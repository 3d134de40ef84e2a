import NIOCore
import NIOEmbedded
import SluiceTesting
import Testing

@testable import SluiceNATS

/// The server's operations, however the bytes are cut by the network.
@Suite(.timeLimit(.minutes(10)), .watchdog)
struct NATSFrameDecoderTests {
    private func decode(_ chunks: [String]) throws -> [NATSInbound] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NATSFrameDecoder()))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var decoded: [NATSInbound] = []
        while let next = try channel.readInbound(as: NATSInbound.self) { decoded.append(next) }
        return decoded
    }

    @Test func everyOperationIsReadEvenWhenSplitAnywhere() throws {
        let stream = "INFO {\"server_id\":\"S1\",\"version\":\"2.15.0\",\"headers\":true,\"max_payload\":1048576,\"connect_urls\":[\"127.0.0.1:4223\"],\"jetstream\":true}\r\n"
            + "PING\r\n+OK\r\nMSG logs.app 3 5\r\nhello\r\nMSG a.b 7 _INBOX.x.1 2\r\nhi\r\n"
            + "HMSG _INBOX.x.2 1 30 30\r\nNATS/1.0 503 No Responders\r\n\r\n\r\n"
            + "HMSG s 2 r 32 35\r\nNATS/1.0\r\nNats-Msg-Id: abc-1\r\n\r\n{}\n\r\n-ERR 'Authorization Violation'\r\nPONG\r\n"
        for cut in [1, 2, 3, 7, 13, stream.utf8.count] {
            let bytes = Array(stream.utf8)
            let chunks = stride(from: 0, to: bytes.count, by: cut).map { String(decoding: bytes[$0..<min($0 + cut, bytes.count)], as: UTF8.self) }
            let decoded = try decode(chunks)
            #expect(decoded.count == 9, "cut every \(cut) bytes")
            guard decoded.count == 9 else { continue }
            guard case .info(let info) = decoded[0] else { Issue.record("INFO"); continue }
            #expect(info.serverID == "S1" && info.headers && info.jetStream && info.connectURLs == ["127.0.0.1:4223"])
            guard case .ping = decoded[1], case .ok = decoded[2] else { Issue.record("PING, +OK"); continue }
            guard case .message(let plain) = decoded[3], case .message(let replied) = decoded[4],
                  case .message(let status) = decoded[5], case .message(let headed) = decoded[6] else { Issue.record("messages"); continue }
            #expect(plain.subject == "logs.app" && plain.sid == 3 && plain.replyTo == nil && String(buffer: plain.payload) == "hello")
            #expect(replied.replyTo == "_INBOX.x.1" && String(buffer: replied.payload) == "hi")
            #expect(status.status == 503 && status.statusDescription == "No Responders" && status.payload.readableBytes == 0)
            #expect(headed.status == nil && headed.header("nats-msg-id") == "abc-1" && String(buffer: headed.payload) == "{}\n")
            guard case .error(let reason) = decoded[7], case .pong = decoded[8] else { Issue.record("-ERR, PONG"); continue }
            #expect(reason == "Authorization Violation")
        }
    }

    @Test func aMalformedOperationIsAnError() throws {
        #expect(throws: (any Error).self) { try decode(["MSG only-a-subject\r\n"]) }
        #expect(throws: (any Error).self) { try decode(["WHAT is this\r\n"]) }
    }

    @Test func publishAcknowledgementsAreRead() {
        func ack(_ json: String, status: Int? = nil) -> PublishAcknowledgement {
            PublishAcknowledgement.read(NATSMessage(subject: "_INBOX.x.1", sid: 1, status: status, statusDescription: "", headers: [], payload: ByteBuffer(string: json)))
        }
        #expect(ack("{\"stream\":\"LOGS\",\"seq\":42}") == .stored(sequence: 42, duplicate: false))
        #expect(ack("{\"stream\":\"LOGS\",\"seq\":7,\"duplicate\": true}") == .stored(sequence: 7, duplicate: true))
        #expect(ack("", status: 503) == .noResponders)
        #expect(ack("{\"error\":{\"code\":503,\"err_code\":10077,\"description\":\"maximum bytes exceeded\"},\"stream\":\"LOGS\",\"seq\":0}")
            == .refused(code: 503, errorCode: 10077, text: "maximum bytes exceeded"))
    }

    @Test func theReplySubjectOfADeliveredMessageIsRead() {
        let info = DeliveredMessageInfo(replySubject: "$JS.ACK.LOGS.central.2.1041.998.1733100000000000000.12")
        #expect(info == DeliveredMessageInfo(replySubject: "$JS.ACK.hub.ACCHASH.LOGS.central.2.1041.998.1733100000000000000.12.rnd"))
        #expect(info?.stream == "LOGS" && info?.consumer == "central" && info?.deliveries == 2)
        #expect(info?.streamSequence == 1041 && info?.consumerSequence == 998 && info?.pending == 12)
        #expect(DeliveredMessageInfo(replySubject: "_INBOX.abc.1") == nil)
    }

    @Test func serverURLsAreRead() throws {
        #expect(try NATSServerAddress.parse("nats://127.0.0.1:4223").get() == NATSServerAddress(host: "127.0.0.1", port: 4223))
        #expect(try NATSServerAddress.parse("tls://nats.example:4443").get() == NATSServerAddress(host: "nats.example", port: 4443, requiresTLS: true))
        #expect(try NATSServerAddress.parse("localhost").get() == NATSServerAddress(host: "localhost", port: 4222))
        #expect(try NATSServerAddress.parse("[::1]:4222").get().host == "::1")
        for bad in ["http://x:1", "nats://user:pw@x:1", "nats://x:99999", "nats://:4222"] {
            #expect((try? NATSServerAddress.parse(bad).get()) == nil, "\(bad)")
        }
    }
}
