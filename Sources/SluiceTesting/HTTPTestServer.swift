import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SluiceSync
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 and a port the kernel picks, for tests: it records every
/// request and answers with whatever the test's handler says (status, body, delay, or closing
/// the connection without an answer). Given a certificate, it speaks HTTPS.
public final class HTTPTestServer: Sendable {
    public struct Request: Sendable {
        public let method: String
        public let uri: String
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var contentType: String
        public var delayNanoseconds: UInt64
        /// Close the connection instead of answering (a reset, as far as the client knows).
        public var dropConnection: Bool

        public init(status: Int = 200, body: String = "", contentType: String = "application/json", delayNanoseconds: UInt64 = 0, dropConnection: Bool = false) {
            self.status = status
            self.body = Array(body.utf8)
            self.contentType = contentType
            self.delayNanoseconds = delayNanoseconds
            self.dropConnection = dropConnection
        }
    }

    public let port: Int
    private let scheme: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let recorder = Recorder()
    private let stopped = Atomic<Bool>(false)

    private final class Recorder: Sendable {
        let requests = Locked<[Request]>([])
    }

    /// - Parameter port: 0 lets the kernel pick (the usual case); a fixed port brings a server
    ///   back where a stopped one was.
    /// - Parameter tls: a certificate to serve HTTPS with; nil serves plain HTTP.
    public init(port: Int = 0, tls: TestCertificate? = nil, handler: @escaping @Sendable (Request) -> Response) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let recorder = self.recorder
        let recorded: @Sendable (Request) -> Void = { request in recorder.requests.withLock { $0.append(request) } }
        let sslContext = try tls.map { certificate in
            try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: NIOSSLCertificate.fromPEMFile(certificate.certificatePath).map { .certificate($0) },
                privateKey: .privateKey(NIOSSLPrivateKey(file: certificate.keyPath, format: .pem))
            ))
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, record: recorded))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
        self.group = group
        self.port = channel.localAddress?.port ?? 0
        self.scheme = tls == nil ? "http" : "https"
    }

    deinit {
        stop()
    }

    /// Stops listening: later connections are refused. Stopping twice does nothing.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    public var url: String { "\(scheme)://127.0.0.1:\(port)" }
    public var requests: [Request] { recorder.requests.withLock { $0 } }

    private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: used only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let handler: @Sendable (Request) -> Response
        private let record: @Sendable (Request) -> Void
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        init(handler: @escaping @Sendable (Request) -> Response, record: @escaping @Sendable (Request) -> Void) {
            self.handler = handler
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let requestHead):
                head = requestHead
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let request = Request(
                    method: head.method.rawValue, uri: head.uri,
                    headers: head.headers.map { ($0.name, $0.value) }, body: body
                )
                record(request)
                let response = handler(request)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let respond: @Sendable () -> Void = {
                    let (handler, context) = loopBound.value
                    handler.write(response, context: context)
                }
                if response.delayNanoseconds > 0 {
                    context.eventLoop.scheduleTask(in: .nanoseconds(Int64(response.delayNanoseconds))) { respond() }
                } else {
                    respond()
                }
            }
        }

        private func write(_ response: Response, context: ChannelHandlerContext) {
            guard !response.dropConnection else {
                context.close(promise: nil)
                return
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: "\(response.body.count)")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
