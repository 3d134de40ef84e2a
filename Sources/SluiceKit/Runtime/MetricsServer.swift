import Logging
import NIOCore
import NIOHTTP1
import SluiceSources

/// The HTTP listener for `/metrics`, the probes and the admin API (`AdminEndpoints`), on one
/// event-loop thread of its own (idle in `epoll` between scrapes).
final class MetricsServer: Sendable {
    struct Request: Sendable {
        var path: String
        /// The `Authorization` header, if any.
        var authorization: String?
    }

    struct Answer: Sendable {
        var status: Int
        var contentType: String
        var body: String
    }

    private let listener: HTTPListener
    var port: Int { listener.port }

    /// Binds `address` (`host:port`; port 0 picks one). `respond` answers a request.
    init(address: String, respond: @escaping @Sendable (Request) -> Answer) throws {
        listener = try HTTPListener(address: address, owner: "metrics.address") { channel in
            channel.pipeline.addHandler(Handler(respond: respond))
        }
    }

    func stop() {
        listener.stop()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: used only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let respond: @Sendable (Request) -> Answer
        private var request = Request(path: "/")
        private var keepAlive = true

        init(respond: @escaping @Sendable (Request) -> Answer) {
            self.respond = respond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                request = Request(path: String(head.uri.split(separator: "?").first ?? "/"), authorization: head.headers.first(name: "Authorization"))
                keepAlive = head.isKeepAlive
            case .body:
                break
            case .end:
                let answer = respond(request)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: answer.contentType)
                headers.add(name: "Content-Length", value: "\(answer.body.utf8.count)")
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer.body)))), promise: nil)
                let keepAlive = keepAlive
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { loopBound.value.close(promise: nil) }
                }
            }
        }
    }
}
