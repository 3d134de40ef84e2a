public import NIOCore
import NIOHTTP1
import NIOPosix
public import SluiceCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server socket on event-loop threads of its own: the metrics endpoint and the
/// `otlp` source. `host:port` (port 0 picks one; an empty host is loopback); each connection
/// gets the HTTP pipeline and then the handlers `handlers` adds.
///
/// Every connection is bounded (`HTTPServerLimits`): at most `maxConnections` at once (a
/// connection beyond them is closed as soon as it is accepted), a request's head must arrive
/// within `headerTimeout` of its first byte and its body must keep moving (`bodyTimeout`
/// between reads), and a connection idle between requests for `idleTimeout` is closed, so a
/// slow or silent client never holds a descriptor for ever. When `accept` fails for want of
/// descriptors or memory, accepting pauses 5 ms, doubling to 1 s, instead of spinning on a
/// listener that stays readable (as Go's net/http does).
public final class HTTPListener: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let connections: ConnectionCount

    public struct AddressError: Error, CustomStringConvertible {
        public let address: String
        public let owner: String
        public var description: String { "\(owner): address \"\(address)\" is not host:port" }
    }

    /// Connections open now.
    public var openConnections: Int { connections.open.load(ordering: .relaxed) }
    /// Connections closed at once because `maxConnections` (or the process's descriptors) were
    /// in use.
    public var refusedConnections: Int { connections.refused.load(ordering: .relaxed) }
    /// Connections closed for a timeout.
    public var timedOutConnections: Int { connections.timedOut.load(ordering: .relaxed) }

    /// - Parameters:
    ///   - secure: adds what goes before HTTP (TLS) to a new connection's pipeline, if anything.
    ///   - handlers: adds the request handler after the HTTP codec.
    public init(
        address: String, owner: String, threads: Int = 1, limits: HTTPServerLimits = .metrics, acceptErrors: Counter? = nil,
        secure: (@Sendable (any Channel) -> EventLoopFuture<Void>)? = nil,
        handlers: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw AddressError(address: address, owner: owner)
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let connections = ConnectionCount(acceptErrors: acceptErrors ?? Counter())
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // The kernel's queue of connections not yet accepted (NIO's default is 256): clients
            // beyond it see their handshake dropped and retry, so a burst larger than it is slow.
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler(backoffProvider: connections.acceptBackoff))
                }
            }
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.acceptSucceeded()
                guard connections.admit(limits) else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.closed(limits) }
                let http: @Sendable () -> EventLoopFuture<Void> = {
                    channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                        let timeouts = HTTPTimeouts(limits: limits, connections: connections)
                        try channel.pipeline.syncOperations.addHandler(ReadActivity(timeouts: timeouts), position: .first)
                        try channel.pipeline.syncOperations.addHandler(timeouts)
                    }.flatMap { handlers(channel) }
                }
                guard let secure else { return http() }
                return secure(channel).flatMap { http() }
            }
        do {
            channel = try bootstrap.bind(host: host.isEmpty ? "127.0.0.1" : host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.connections = connections
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and closes every connection.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// What bounds an HTTP listener's connections (see `HTTPListener`).
public struct HTTPServerLimits: Sendable {
    public var maxConnections: Int
    public var idleTimeoutNanoseconds: UInt64
    public var headerTimeoutNanoseconds: UInt64
    public var bodyTimeoutNanoseconds: UInt64
    /// Whether its connections count against the process-wide descriptor budget
    /// (`DescriptorBudget`); the metrics listener's do not: they are what the reserve is for.
    public var countsDescriptors: Bool

    public init(
        maxConnections: Int, idleTimeoutNanoseconds: UInt64 = 60_000_000_000, headerTimeoutNanoseconds: UInt64 = 60_000_000_000,
        bodyTimeoutNanoseconds: UInt64 = 60_000_000_000, countsDescriptors: Bool = true
    ) {
        self.maxConnections = maxConnections
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
        self.headerTimeoutNanoseconds = headerTimeoutNanoseconds
        self.bodyTimeoutNanoseconds = bodyTimeoutNanoseconds
        self.countsDescriptors = countsDescriptors
    }

    /// `/metrics`, `/healthz`, `/readyz`: a few scrapers and probes, quick requests.
    public static let metrics = HTTPServerLimits(
        maxConnections: 32, idleTimeoutNanoseconds: 30_000_000_000, headerTimeoutNanoseconds: 10_000_000_000,
        bodyTimeoutNanoseconds: 10_000_000_000, countsDescriptors: false
    )
}

/// A listener's connection counts, shared by its event loops.
final class ConnectionCount: Sendable {
    let open = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let timedOut = Atomic<Int>(0)
    let acceptErrors: Counter

    init(acceptErrors: Counter) {
        self.acceptErrors = acceptErrors
    }
    /// The next pause after an `accept` that failed for want of descriptors or memory.
    private let backoffMilliseconds = Atomic<Int>(5)

    func admit(_ limits: HTTPServerLimits) -> Bool {
        guard open.add(1, ordering: .relaxed).newValue <= limits.maxConnections else {
            open.subtract(1, ordering: .relaxed)
            refused.add(1, ordering: .relaxed)
            return false
        }
        guard !limits.countsDescriptors || DescriptorBudget.shared.acquire() else {
            open.subtract(1, ordering: .relaxed)
            refused.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func closed(_ limits: HTTPServerLimits) {
        open.subtract(1, ordering: .relaxed)
        if limits.countsDescriptors { DescriptorBudget.shared.release() }
    }

    func acceptSucceeded() {
        backoffMilliseconds.store(5, ordering: .relaxed)
    }

    /// For `AcceptBackoffHandler`: 5 ms, doubling to 1 s, while `accept` fails for want of
    /// descriptors or memory; other errors do not pause.
    @Sendable func acceptBackoff(_ error: IOError) -> TimeAmount? {
        switch error.errnoCode {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            acceptErrors.add(1)
            let pause = backoffMilliseconds.load(ordering: .relaxed)
            backoffMilliseconds.store(min(pause * 2, 1000), ordering: .relaxed)
            return .milliseconds(Int64(pause))
        default:
            return nil
        }
    }
}

/// Closes a connection whose client is too slow or silent: no complete request head within
/// `headerTimeout` of its first byte, a body that stops moving for `bodyTimeout`, nothing for
/// `idleTimeout` between requests. Sits after the HTTP codec (to see where a request is); its
/// partner `ReadActivity`, before the codec, tells it when bytes arrive.
final class HTTPTimeouts: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked: used only on its channel's event loop.
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        case idle, readingHead, readingBody, responding
    }

    private let limits: HTTPServerLimits
    private let connections: ConnectionCount
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limits: HTTPServerLimits, connections: ConnectionCount) {
        self.limits = limits
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(limits.idleTimeoutNanoseconds)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    /// Bytes arrived (from `ReadActivity`).
    func noteBytes() {
        switch phase {
        case .idle:
            phase = .readingHead
            arm(limits.headerTimeoutNanoseconds)
        case .readingBody:
            arm(limits.bodyTimeoutNanoseconds)
        case .readingHead, .responding:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            arm(limits.bodyTimeoutNanoseconds)
        case .body:
            break
        case .end:
            phase = .responding
            timer?.cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        done.futureResult.whenComplete { [self] result in
            promise?.completeWith(result)
            if phase == .responding {
                phase = .idle
                arm(limits.idleTimeoutNanoseconds)
            }
        }
        context.write(data, promise: done)
    }

    private func arm(_ nanoseconds: UInt64) {
        timer?.cancel()
        guard let context, nanoseconds > 0 else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(nanoseconds))) {
            loopBound.value.expire()
        }
    }

    private func expire() {
        guard let context else { return }
        if phase != .idle { connections.timedOut.add(1, ordering: .relaxed) }
        context.close(promise: nil)
    }
}

/// Tells `HTTPTimeouts` when bytes arrive (a request's head is not seen until it is whole).
final class ReadActivity: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: used only on its channel's event loop.
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeouts: HTTPTimeouts

    init(timeouts: HTTPTimeouts) {
        self.timeouts = timeouts
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timeouts.noteBytes()
        context.fireChannelRead(data)
    }
}
