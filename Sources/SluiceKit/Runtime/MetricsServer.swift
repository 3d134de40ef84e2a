import Logging
import NIOCore
import NIOHTTP1
import SluiceSources

/// The HTTP listener for `/metrics`, the probes and the admin API (`AdminEndpoints`), on one
/// event-loop thread of its own (idle in `epoll` between scrapes).
final class MetricsServer: Sendable {
    struct Request: Sendable {
        var path: String
        /// The query's parameters, percent-decoded.
        var query: [String: String] = [:]
        /// The `Authorization` header, if any.
        var authorization: String?
    }

    struct Answer: Sendable {
        var status: Int
        var contentType: String
        var body: String
        /// A response that goes on: its chunks are taken every 100 ms while the client keeps up
        /// (a client that does not is sent nothing meanwhile), until the client goes.
        var stream: (any AnswerStream)?
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
        private var streaming: (stream: any AnswerStream, task: RepeatedTask)?

        init(respond: @escaping @Sendable (Request) -> Answer) {
            self.respond = respond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                let parts = head.uri.split(separator: "?", maxSplits: 1)
                request = Request(
                    path: String(parts.first ?? "/"), query: parts.count > 1 ? QueryString.parse(parts[1]) : [:],
                    authorization: head.headers.first(name: "Authorization")
                )
                keepAlive = head.isKeepAlive
            case .body:
                break
            case .end:
                let answer = respond(request)
                if let stream = answer.stream {
                    startStreaming(stream, answer: answer, context: context)
                    return
                }
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

        private func startStreaming(_ stream: any AnswerStream, answer: Answer, context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType)
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.add(name: "Cache-Control", value: "no-store")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let task = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
                let context = loopBound.value
                guard context.channel.isActive else { return stopStreaming() }
                guard context.channel.isWritable else { return }
                let bytes = stream.next()
                guard !bytes.isEmpty else { return }
                var buffer = context.channel.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            streaming = (stream, task)
        }

        private func stopStreaming() {
            guard let (stream, task) = streaming else { return }
            streaming = nil
            task.cancel()
            stream.close()
        }

        func channelInactive(context: ChannelHandlerContext) {
            stopStreaming()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            stopStreaming()
        }
    }
}

/// The rest of a streamed answer (`MetricsServer.Answer.stream`), taken piece by piece on the
/// listener's event loop.
protocol AnswerStream: Sendable {
    /// What to send now; empty when nothing is waiting.
    func next() -> [UInt8]
    /// The client went: let go of what the stream holds.
    func close()
}

/// `a=1&b=two%20words` as a dictionary (`+` is a space; the last of a repeated key wins).
enum QueryString {
    static func parse(_ query: Substring) -> [String: String] {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let key = parts.first.map(decode) else { continue }
            values[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return values
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
               let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
               let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index = utf8.index(after: low)
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
