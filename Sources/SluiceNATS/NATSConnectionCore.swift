import NIOCore
import Synchronization

/// The state of a connection that its event loop and its callers share: the handshake's
/// promises, subscriptions, requests waiting for replies, and why it closed.
final class NATSConnectionCore: Sendable {
    let loop: any EventLoop
    let infoPromise: EventLoopPromise<NATSServerInfo>
    private let onClose: @Sendable (NATSError) -> Void
    private let state = Mutex(State())

    private struct State {
        var pongs: [EventLoopPromise<Void>] = []
        var subscriptions: [Int: @Sendable (NATSMessage) -> Void] = [:]
        var nextSID = 1
        var inbox: String?
        var nextRequest = 0
        var requests: [String: EventLoopPromise<NATSMessage>] = [:]
        var serverError: String?
        var closeReason: NATSError?
        var closedByOwner = false
    }

    init(loop: any EventLoop, onClose: @escaping @Sendable (NATSError) -> Void) {
        self.loop = loop
        self.onClose = onClose
        infoPromise = loop.makePromise()
    }

    var serverError: String? { state.withLock { $0.serverError } }
    var closeReason: NATSError? { state.withLock { $0.closeReason } }

    func add(_ handler: @escaping @Sendable (NATSMessage) -> Void) -> Int {
        state.withLock { state in
            defer { state.nextSID += 1 }
            state.subscriptions[state.nextSID] = handler
            return state.nextSID
        }
    }

    func remove(_ sid: Int) {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: sid) }
    }

    func expectPong() -> EventLoopPromise<Void> {
        let promise = loop.makePromise(of: Void.self)
        let closed = state.withLock { state -> NATSError? in
            if state.closeReason == nil { state.pongs.append(promise) }
            return state.closeReason
        }
        if let closed { promise.fail(closed) }
        return promise
    }

    /// A reply subject and the promise its answer completes; `subscribeInbox` runs once, with the
    /// inbox prefix, the first time.
    func prepareRequest(subscribeInbox: (String) -> Void) -> (String, EventLoopPromise<NATSMessage>) {
        let promise = loop.makePromise(of: NATSMessage.self)
        let (prefix, token, isNew) = state.withLock { state -> (String, Int, Bool) in
            let isNew = state.inbox == nil
            let prefix = state.inbox ?? NATSConnection.newInbox()
            state.inbox = prefix
            state.nextRequest += 1
            state.requests[prefix + String(state.nextRequest)] = promise
            return (prefix, state.nextRequest, isNew)
        }
        if isNew { subscribeInbox(prefix) }
        return (prefix + String(token), promise)
    }

    func forgetRequest(_ reply: String) {
        _ = state.withLock { $0.requests.removeValue(forKey: reply) }
    }

    func answer(_ message: NATSMessage) {
        state.withLock { $0.requests.removeValue(forKey: message.subject) }?.succeed(message)
    }

    /// Waits on a promise of this connection, failing it after `timeout`.
    @discardableResult
    func wait<Value: Sendable>(for promise: EventLoopPromise<Value>, timeout: TimeAmount, what: String) throws -> Value {
        let timer = loop.scheduleTask(in: timeout) { promise.fail(NATSError("no \(what) within \(timeout.nanoseconds / 1_000_000) ms")) }
        defer { timer.cancel() }
        return try promise.futureResult.wait()
    }

    // The event loop's side.

    func received(_ inbound: NATSInbound) {
        switch inbound {
        case .info(let info):
            infoPromise.succeed(info)
        case .message(let message):
            state.withLock { $0.subscriptions[message.sid] }?(message)
        case .pong:
            state.withLock { $0.pongs.isEmpty ? nil : $0.pongs.removeFirst() }?.succeed(())
        case .error(let reason):
            state.withLock { $0.serverError = reason }
        case .ok, .ping:
            break
        }
    }

    func closing() {
        state.withLock { $0.closedByOwner = true }
    }

    func closed(_ error: (any Error)?) {
        let (pongs, requests, reason, byOwner) = state.withLock { state -> ([EventLoopPromise<Void>], [EventLoopPromise<NATSMessage>], NATSError?, Bool) in
            guard state.closeReason == nil else { return ([], [], nil, true) }
            let cause = state.serverError.map { "the server closed the connection: \($0)" }
                ?? error.map { "connection lost: \(NATSConnection.describe($0))" } ?? "the server closed the connection"
            let reason = NATSError(cause)
            state.closeReason = reason
            defer {
                state.pongs.removeAll()
                state.requests.removeAll()
            }
            return (state.pongs, Array(state.requests.values), reason, state.closedByOwner)
        }
        guard let reason else { return }
        infoPromise.fail(reason)
        for pong in pongs { pong.fail(reason) }
        for request in requests { request.fail(reason) }
        if !byOwner { onClose(reason) }
    }
}

/// Answers `PING`s and hands everything else to the connection's core.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = NATSInbound
    typealias OutboundOut = ByteBuffer
    private let core: NATSConnectionCore
    private var failure: (any Error)?

    init(core: NATSConnectionCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        if case .ping = inbound {
            var pong = context.channel.allocator.buffer(capacity: 6)
            pong.writeStaticString("PONG\r\n")
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            return
        }
        core.received(inbound)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure = failure ?? error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.closed(failure)
        context.fireChannelInactive()
    }
}
