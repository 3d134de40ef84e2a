import Foundation
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
/// method; 413 for a body (or its decompressed form) over `max_body`; 415 for another content
/// type or encoding; 503 with `Retry-After: 1` while the queue is full (the ring is holding the
/// sources back), rather than holding the connection.
final class OTLPReceiver: Sendable {
    struct Settings: Sendable {
        var address: String
        var maxBodyBytes: Int
        var bearerToken: String?
        /// PEM files: with both, the receiver speaks HTTPS only.
        var certificateFile: String?
        var keyFile: String?
    }

    private let listener: HTTPListener
    var port: Int { listener.port }

    /// Encodes a request's event lines (NDJSON) into a batch, on the calling event-loop thread.
    typealias Encode = @Sendable (UnsafeRawBufferPointer) -> EventBatch?

    init(settings: Settings, queue: BoundedQueue<EventBatch>, sourceName: String, encode: @escaping Encode) throws {
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
            address: settings.address, owner: "source \(sourceName)", threads: System.coreCount, secure: secure
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Handler(settings: settings, queue: queue, encode: encode))
            }
        }
    }

    /// Stops listening and closes every connection.
    func stop() {
        listener.stop()
    }

    /// What a request came to.
    struct Answer {
        var status: Int
        var message: String?
        var retryAfter: Bool = false
        var closeConnection = false
    }

    /// Reads a request's body, and answers it.
    static func answer(
        method: HTTPMethod, path: String, contentType: String?, contentEncoding: String?, authorization: String?,
        body: UnsafeRawBufferPointer, settings: Settings, queue: BoundedQueue<EventBatch>, encode: Encode
    ) -> Answer {
        guard path == "/v1/logs" else { return Answer(status: 404, message: "not found: OTLP logs are received at POST /v1/logs") }
        guard method == .POST else { return Answer(status: 405, message: "only POST is accepted at /v1/logs") }
        if let token = settings.bearerToken, authorization != "Bearer \(token)" {
            return Answer(status: 401, message: "a bearer token is required")
        }
        let kind = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard kind == "application/x-protobuf" || kind == "application/json" else {
            return Answer(status: 415, message: "send application/x-protobuf or application/json, not \(contentType ?? "nothing")")
        }
        var decompressed: [UInt8]?
        switch contentEncoding?.lowercased() {
        case nil, "", "identity": break
        case "gzip":
            do throws(BoundedGunzip.Failure) {
                decompressed = try BoundedGunzip.decompress(body, limit: settings.maxBodyBytes)
            } catch {
                switch error {
                case .tooLarge: return Answer(status: 413, message: "the decompressed body is larger than max_body (\(settings.maxBodyBytes) bytes)")
                case .corrupt(let reason): return Answer(status: 400, message: reason)
                }
            }
        default:
            return Answer(status: 415, message: "Content-Encoding \(contentEncoding ?? "") is not supported (gzip or none)")
        }
        var json = ByteWriter(capacity: 4096)
        var lines = ByteWriter(capacity: max(4096, body.count * 3))
        var count = 0
        var protobuf = OTLPProtobufEvents()
        let read = { (bytes: UnsafeRawBufferPointer) -> OTLPDecodingError? in
            do throws(OTLPDecodingError) {
                if kind == "application/json" {
                    try OTLPRequestDecoder.decodeJSON(bytes) { resource, scope, record in
                        OTLPEventWriter.write(record, resource: resource, scope: scope, into: &json)
                        lines.append(json.bytes)
                        lines.append(0x0A)
                        count += 1
                    }
                } else {
                    count = try protobuf.write(bytes, into: &lines)
                }
                return nil
            } catch {
                return error
            }
        }
        let failure = decompressed.map { $0.withUnsafeBytes(read) } ?? read(body)
        if let failure {
            return Answer(status: 400, message: "the body is not an ExportLogsServiceRequest: \(failure)")
        }
        guard count > 0, let batch = encode(lines.bytes) else { return Answer(status: 200) }
        guard queue.offer(batch) else {
            return Answer(status: 503, message: "Sluice is holding its inputs back; retry", retryAfter: true)
        }
        return Answer(status: 200)
    }

    /// The body of an answer: an empty `ExportLogsServiceResponse`, or a `google.rpc.Status`
    /// with the message, in the request's encoding.
    static func responseBody(_ answer: Answer, json: Bool) -> [UInt8] {
        guard let message = answer.message, answer.status != 200 else { return json ? Array("{}".utf8) : [] }
        // gRPC codes: 3 INVALID_ARGUMENT, 16 UNAUTHENTICATED, 14 UNAVAILABLE, 5 NOT_FOUND.
        let code = switch answer.status {
        case 401: 16
        case 503: 14
        case 404: 5
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
        private let queue: BoundedQueue<EventBatch>
        private let encode: Encode
        private var head: HTTPRequestHead?
        private var body: ByteBuffer?
        private var tooLarge = false
        /// Answered before its body (an unsupported transfer coding); the rest is ignored.
        private var rejected = false

        init(settings: Settings, queue: BoundedQueue<EventBatch>, encode: @escaping Encode) {
            self.settings = settings
            self.queue = queue
            self.encode = encode
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = context.channel.allocator.buffer(capacity: 0)
                tooLarge = false
                // RFC 9112: a transfer coding the server does not apply is refused (501), never
                // read as if it were not there (`gzip, chunked` would otherwise pass as a body
                // in plain protobuf).
                let codings = head.headers[canonicalForm: "Transfer-Encoding"].map { $0.lowercased() }
                if !codings.isEmpty && codings != ["chunked"] {
                    self.head = nil
                    body = nil
                    rejected = true
                    respond(context, Answer(
                        status: 501, message: "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported: send the body chunked or with a Content-Length (and gzip as Content-Encoding)",
                        closeConnection: true
                    ), json: false)
                    return
                }
                rejected = false
                // A body over max_body is read and thrown away as it comes (never kept), so the
                // client, which sends it whole before reading, gets its 413.
                if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > settings.maxBodyBytes {
                    tooLarge = true
                    body = nil
                }
            case .body(var part):
                guard !tooLarge, !rejected else { return }
                if (body?.readableBytes ?? 0) + part.readableBytes > settings.maxBodyBytes {
                    tooLarge = true
                    body = nil
                } else {
                    body?.writeBuffer(&part)
                }
            case .end:
                guard let head, !rejected else { return }
                self.head = nil
                let json = head.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") == true
                if tooLarge {
                    respond(context, Answer(status: 413, message: "the body is larger than max_body (\(settings.maxBodyBytes) bytes)", closeConnection: true), json: json)
                    return
                }
                let received = body ?? context.channel.allocator.buffer(capacity: 0)
                body = nil
                let answer = received.withUnsafeReadableBytes { bytes in
                    OTLPReceiver.answer(
                        method: head.method, path: String(head.uri.split(separator: "?").first ?? "/"),
                        contentType: head.headers.first(name: "Content-Type"), contentEncoding: head.headers.first(name: "Content-Encoding"),
                        authorization: head.headers.first(name: "Authorization"), body: bytes, settings: settings, queue: queue,
                        encode: encode
                    )
                }
                var final = answer
                if !head.isKeepAlive { final.closeConnection = true }
                respond(context, final, json: json)
            }
        }

        private func respond(_ context: ChannelHandlerContext, _ answer: Answer, json: Bool) {
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
