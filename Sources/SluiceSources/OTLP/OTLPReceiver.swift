import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import SluiceCore

/// The HTTP side of the `otlp` source: `POST /v1/logs` with an `ExportLogsServiceRequest` in
/// protobuf or OTLP/JSON, gzipped or not, decoded and encoded into a batch of events on its
/// event-loop threads and handed to the source's thread, which publishes it, through a bounded
/// queue. Answers as OTLP/HTTP says: 200 with
/// an empty `ExportLogsServiceResponse`; 400 with a `google.rpc.Status` naming what could not
/// be read; 401 without the configured bearer token; 404 for another path, 405 for another
/// method; 413 for a body (or its decompressed form) over `max_body`, or a request past
/// `max_records` or `max_decoded`; 415 for another content type or encoding; 501 for a
/// transfer coding other than chunked; 503 with `Retry-After: 1` while the queue is full (the
/// ring is holding the sources back) or the process-wide request memory is in use, rather than
/// holding the connection or growing.
final class OTLPReceiver: Sendable {
    struct Settings: Sendable {
        var address: String
        var limits: OTLPLimits
        var connections: HTTPServerLimits
        var bearerToken: String?
        /// PEM files: with both, the receiver speaks HTTPS only.
        var certificateFile: String?
        var keyFile: String?
    }

    private let listener: HTTPListener
    var port: Int { listener.port }
    var connections: HTTPListener { listener }

    /// - Parameter accept: queues a request's events for the source's thread; false when the
    ///   queue is full (503).
    init(
        settings: Settings, budget: RequestMemoryBudget, sourceName: String, acceptErrors: Counter, encode: @escaping OTLPEncode,
        accept: @escaping @Sendable (OTLPAcceptedRequest) -> Bool
    ) throws {
        var tls: NIOSSLContext?
        if let certificate = settings.certificateFile, let key = settings.keyFile {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            tls = try NIOSSLContext(configuration: configuration)
        }
        // Decoding is most of the work: one event-loop thread per core, each with its own
        // connections.
        var secure: (@Sendable (any Channel) -> EventLoopFuture<Void>)?
        if let tls {
            secure = { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }
            }
        }
        listener = try HTTPListener(
            address: settings.address, owner: "source \(sourceName)", threads: System.coreCount, limits: settings.connections,
            acceptErrors: acceptErrors, secure: secure
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Handler(settings: settings, budget: budget, encode: encode, accept: accept))
            }
        }
    }

    /// Stops listening and closes every connection.
    func stop() {
        listener.stop()
    }

    /// The body of an answer: an empty `ExportLogsServiceResponse`, or a `google.rpc.Status`
    /// with the message, in the request's encoding.
    static func responseBody(_ answer: OTLPAnswer, json: Bool) -> [UInt8] {
        guard let message = answer.message, answer.status != 200 else { return json ? Array("{}".utf8) : [] }
        // gRPC codes: 3 INVALID_ARGUMENT, 16 UNAUTHENTICATED, 14 UNAVAILABLE, 5 NOT_FOUND,
        // 8 RESOURCE_EXHAUSTED, 12 UNIMPLEMENTED.
        let code = switch answer.status {
        case 401: 16
        case 503: 14
        case 404: 5
        case 413: 8
        case 501: 12
        default: 3
        }
        if json {
            var writer = ByteWriter(capacity: 128)
            writer.append(#"{"code":"#)
            writer.append(decimal: code)
            writer.append(#","message":"#)
            writer.appendJSONString(message)
            writer.append(UInt8(ascii: "}"))
            return Array(writer.bytes)
        }
        var body: [UInt8] = [0x08, UInt8(code), 0x12]
        var length = message.utf8.count
        while length >= 0x80 {
            body.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        body.append(UInt8(length))
        body.append(contentsOf: message.utf8)
        return body
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: used only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let settings: Settings
        private let budget: RequestMemoryBudget
        private let encode: OTLPEncode
        private let accept: @Sendable (OTLPAcceptedRequest) -> Bool
        private var head: HTTPRequestHead?
        private var body: ByteBuffer?
        private var reservation: RequestReservation?
        /// What the body is thrown away for, as it comes (never kept), so the client, which
        /// sends it whole before reading, gets its answer.
        private var refusal: OTLPAnswer?

        init(settings: Settings, budget: RequestMemoryBudget, encode: @escaping OTLPEncode, accept: @escaping @Sendable (OTLPAcceptedRequest) -> Bool) {
            self.settings = settings
            self.budget = budget
            self.encode = encode
            self.accept = accept
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            reservation?.releaseAll()
            reservation = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                refusal = nil
                body = nil
                let reservation = RequestReservation(budget)
                self.reservation = reservation
                // RFC 9112: a transfer coding the server does not apply is refused (501), never
                // read as if it were not there (`gzip, chunked` would otherwise pass as a body
                // in plain protobuf).
                let codings = head.headers[canonicalForm: "Transfer-Encoding"].map { $0.lowercased() }
                if !codings.isEmpty && codings != ["chunked"] {
                    refusal = OTLPAnswer(
                        status: 501, message: "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported: send the body chunked or with a Content-Length (and gzip as Content-Encoding)",
                        closeConnection: true
                    )
                    return
                }
                let declared = head.headers.first(name: "Content-Length").flatMap(Int.init)
                if let declared, declared > settings.limits.maxBodyBytes {
                    refusal = tooLarge()
                } else if let declared, !reservation.grow(to: declared) {
                    refusal = OTLPRequestReader.overloaded()
                } else {
                    body = context.channel.allocator.buffer(capacity: declared ?? 0)
                }
            case .body(var part):
                guard refusal == nil, let reservation else { return }
                let size = (body?.readableBytes ?? 0) + part.readableBytes
                if size > settings.limits.maxBodyBytes {
                    refusal = tooLarge()
                    drop()
                } else if !reservation.grow(to: size) {
                    refusal = OTLPRequestReader.overloaded()
                    drop()
                } else {
                    body?.writeBuffer(&part)
                }
            case .end:
                guard let head else { return }
                self.head = nil
                let json = head.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") == true
                if let refusal {
                    self.refusal = nil
                    drop()
                    respond(context, refusal, json: json)
                    return
                }
                let received = body ?? context.channel.allocator.buffer(capacity: 0)
                body = nil
                let reservation = self.reservation ?? RequestReservation(budget)
                self.reservation = nil
                var accepted = false
                let answer = received.withUnsafeReadableBytes { bytes in
                    OTLPRequestReader.answer(
                        method: head.method, path: String(head.uri.split(separator: "?").first ?? "/"),
                        contentType: head.headers.first(name: "Content-Type"), contentEncoding: head.headers.first(name: "Content-Encoding"),
                        authorization: head.headers.first(name: "Authorization"), body: bytes, settings: settings, reservation: reservation,
                        encode: encode
                    ) { request in
                        accepted = accept(request)
                        return accepted
                    }
                }
                // An accepted request's reservation is the source's to release once published.
                if !accepted { reservation.releaseAll() }
                var final = answer
                if !head.isKeepAlive { final.closeConnection = true }
                respond(context, final, json: json)
            }
        }

        private func tooLarge() -> OTLPAnswer {
            OTLPAnswer(status: 413, message: "the body is larger than max_body (\(settings.limits.maxBodyBytes) bytes)", closeConnection: true)
        }

        /// Lets go of the body and what it held.
        private func drop() {
            body = nil
            reservation?.releaseAll()
        }

        private func respond(_ context: ChannelHandlerContext, _ answer: OTLPAnswer, json: Bool) {
            let payload = OTLPReceiver.responseBody(answer, json: json)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: json ? "application/json" : "application/x-protobuf")
            headers.add(name: "Content-Length", value: "\(payload.count)")
            if answer.retryAfter { headers.add(name: "Retry-After", value: "1") }
            if answer.status == 405 { headers.add(name: "Allow", value: "POST") }
            if answer.closeConnection { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: payload)))), promise: nil)
            let close = answer.closeConnection
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if close { loopBound.value.close(promise: nil) }
            }
        }
    }
}
