import FoundationEssentials
public import NIOCore
public import NIOPosix
import NIOSSL
import Synchronization
import SluiceText

/// One client connection to one NATS server, on a swift-nio event loop: the handshake (`INFO`,
/// TLS when asked for, `CONNECT` with the credentials, a `PING` answered by `PONG`), writes of
/// whole buffers of operations, subscriptions whose messages are handed to a closure on the
/// event loop, and request-reply through one inbox subscription. Reconnecting is the owner's
/// business: a connection that closes stays closed and says why through `onClose`.
///
/// The blocking calls (`connect`, `flush`, `request`) are for the threads of sources and sinks,
/// never for an event loop.
public final class NATSConnection: Sendable {
    public let address: NATSServerAddress
    /// The server's `INFO` as the connection was made.
    public let info: NATSServerInfo
    private let channel: any Channel
    private let core: NATSConnectionCore

    /// How to connect: the client's name, credentials and TLS.
    public struct Options: Sendable {
        public var name = "sluice"
        public var token: String?
        public var user: String?
        public var password: String?
        /// An NKey that signs the server's nonce, and the user JWT of a credentials file (with
        /// a JWT the server checks the key through it; without, the key is the user).
        public var nkey: NKey?
        public var jwt: String?
        /// PEM files: the CA to trust (system roots without it), and a client certificate.
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        /// TLS even when the URL is `nats://` and the server does not require it.
        public var tls = false
        public var timeoutNanoseconds: Int64 = 2_000_000_000

        public init() {}
    }

    private init(address: NATSServerAddress, info: NATSServerInfo, channel: any Channel, core: NATSConnectionCore) {
        self.address = address
        self.info = info
        self.channel = channel
        self.core = core
    }

    /// Connects and completes the handshake, or throws why not (refused, timed out, the server's
    /// `-ERR` such as "Authorization Violation", a TLS failure). `onClose` is called once, on an
    /// event loop, when the connection ends after that.
    public static func connect(
        to address: NATSServerAddress, options: Options, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onClose: @escaping @Sendable (NATSError) -> Void = { _ in }
    ) throws(NATSError) -> NATSConnection {
        let loop = group.next()
        let core = NATSConnectionCore(loop: loop, onClose: onClose)
        let timeout = TimeAmount.nanoseconds(options.timeoutNanoseconds)
        let channel: any Channel
        do {
            channel = try ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NATSFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(NATSChannelHandler(core: core))
                    }
                }
                .connect(host: address.host, port: address.port).wait()
        } catch {
            let failure = NATSError("cannot connect to \(address): \(describe(error))")
            core.infoPromise.fail(failure)
            throw failure
        }
        do {
            let info = try core.wait(for: core.infoPromise, timeout: timeout, what: "the server's INFO")
            if options.tls || address.requiresTLS || info.tlsRequired {
                let context = try tlsContext(options)
                let hostname = address.host.first?.isLetter == true ? address.host : nil
                try channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname), position: .first)
                }.wait()
            }
            let connection = NATSConnection(address: address, info: info, channel: channel, core: core)
            var hello = channel.allocator.buffer(capacity: 256)
            hello.writeString("CONNECT ")
            let fields = try connectFields(options, info: info, tls: options.tls || address.requiresTLS || info.tlsRequired)
            hello.writeBytes(JSONAny.serialize(fields))
            hello.writeString("\r\n")
            connection.write(hello)
            try connection.flush(timeoutNanoseconds: options.timeoutNanoseconds)
            return connection
        } catch {
            channel.close(promise: nil)
            if let refused = core.serverError { throw NATSError("\(address) refused the connection: \(refused)") }
            throw NATSError("\(address): \(describe(error))")
        }
    }

    private static func connectFields(_ options: Options, info: NATSServerInfo, tls: Bool) throws -> [String: Any] {
        var fields: [String: Any] = [
            "verbose": false, "pedantic": false, "lang": "swift", "version": "1", "protocol": 1,
            "headers": true, "no_responders": true, "name": options.name, "tls_required": tls,
        ]
        if let token = options.token, !token.isEmpty { fields["auth_token"] = token }
        if let user = options.user, !user.isEmpty {
            fields["user"] = user
            fields["pass"] = options.password ?? ""
        }
        if let key = options.nkey {
            if let jwt = options.jwt { fields["jwt"] = jwt } else { fields["nkey"] = key.publicKey }
            if let nonce = info.nonce { fields["sig"] = try key.sign(nonce: nonce) }
        }
        return fields
    }

    private static func tlsContext(_ options: Options) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca = options.caFile { configuration.trustRoots = .file(ca) }
        if let certificate = options.certificateFile, let key = options.keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NATSError { return error.description }
        if let error = error as? IOError { return error.description }
        if error is ChannelError { return "\(error)" }
        return String(describing: error)
    }

    /// Whether the connection is still open.
    public var isOpen: Bool { core.closeReason == nil }

    /// Why it closed, once it has.
    public var closeReason: NATSError? { core.closeReason }

    public var allocator: ByteBufferAllocator { channel.allocator }

    /// Writes a buffer of operations (see `NATSWire`) and flushes it to the socket; the future
    /// completes once the kernel has it.
    @discardableResult
    public func write(_ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        channel.writeAndFlush(buffer)
    }

    /// Subscribes `handler` (called on the event loop, in order) to `subject`; returns its sid.
    public func subscribe(_ subject: String, queue: String? = nil, handler: @escaping @Sendable (NATSMessage) -> Void) -> Int {
        let sid = core.add(handler)
        var buffer = allocator.buffer(capacity: subject.utf8.count + 16)
        NATSWire.appendSubscribe(to: &buffer, subject: subject, queue: queue, sid: sid)
        write(buffer)
        return sid
    }

    public func unsubscribe(_ sid: Int) {
        var buffer = allocator.buffer(capacity: 16)
        NATSWire.appendUnsubscribe(to: &buffer, sid: sid)
        write(buffer)
        core.remove(sid)
    }

    /// A `PING` answered: everything written before it has reached the server and been handled.
    public func flush(timeoutNanoseconds: Int64) throws(NATSError) {
        let pong = core.expectPong()
        var buffer = allocator.buffer(capacity: 8)
        buffer.writeStaticString("PING\r\n")
        write(buffer)
        do {
            try core.wait(for: pong, timeout: .nanoseconds(timeoutNanoseconds), what: "PONG from \(address)")
        } catch {
            throw error as? NATSError ?? NATSError(Self.describe(error))
        }
    }

    /// Publishes `payload` to `subject` with a reply subject of the connection's inbox and waits
    /// for the one reply (a JetStream API call). A "no responders" status is an error.
    public func request(_ subject: String, payload: [UInt8], timeoutNanoseconds: Int64) throws(NATSError) -> NATSMessage {
        let (reply, promise) = core.prepareRequest { [self] prefix in
            _ = subscribe(prefix + "*") { [core] message in core.answer(message) }
        }
        var buffer = allocator.buffer(capacity: subject.utf8.count + reply.utf8.count + payload.count + 32)
        payload.withUnsafeBytes { NATSWire.appendPublish(to: &buffer, subject: subject.utf8, reply: reply.utf8, payload: $0) }
        write(buffer)
        let answer: NATSMessage
        do {
            answer = try core.wait(for: promise, timeout: .nanoseconds(timeoutNanoseconds), what: "a reply on \(subject)")
        } catch {
            core.forgetRequest(reply)
            throw error as? NATSError ?? NATSError(Self.describe(error))
        }
        if answer.status == 503 { throw NATSError("no responders on \(subject) at \(address)") }
        return answer
    }

    /// Closes the connection (what was written and not yet flushed is lost).
    public func close() {
        core.closing()
        channel.close(promise: nil)
    }

    /// A new random inbox prefix, `_INBOX.<22 characters>.`.
    public static func newInbox() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return "_INBOX." + String((0..<22).map { _ in alphabet.randomElement()! }) + "."
    }
}
