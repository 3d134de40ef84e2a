public import SluiceCore
import CLinux
import SluiceSync
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Serves a stream socket (TCP, or Unix stream) to many concurrent writers: each connection is
/// its own stream of lines (framing and multiline joining per connection), all encoded into
/// shared batches by one thread.
///
/// At `max_connections`, Sluice stops accepting until one closes (new clients wait in the
/// kernel's backlog), except that a waiting client takes the place of the connection quiet
/// longest when that one has been quiet for `evictAfterNanoseconds` (10 s): so silent sockets
/// cannot lock real writers out. When `accept` fails for want of descriptors or memory (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM), or the process's descriptor budget (`DescriptorBudget`) is in use,
/// the listener stays readable and a level-triggered loop would spin a core: Sluice stops
/// watching it, says so once, counts every failure, and tries again when a connection closes or
/// after a backoff (50 ms doubling to 1 s). A connection quiet for `idle_timeout` (5 minutes
/// unless configured) is closed. When the ring is full
/// the thread stops reading, so senders' socket buffers fill and they wait. On SIGTERM the
/// listener closes at once and connected clients are read until they close or the grace
/// period ends; an unfinished last line of a closing client is published, not dropped.
public final class StreamServerSource: Source, SettingsCarrying {
    public enum Endpoint: Sendable {
        case tcp(address: String)
        case unix(UnixSocketPath)

        var description: String {
            switch self {
            case .tcp(let address): address
            case .unix(let socket): socket.path
            }
        }
    }

    public let name: String
    public let endpoint: Endpoint
    public let settings: SourceSettings
    public let host: String
    public let maxConnections: Int
    public let idleTimeoutNanoseconds: UInt64
    public let framing: Framing
    private let listeningPort = Locked<Int?>(nil)
    private let logger = Logger(label: "sluice.source")
    static let readSize = 64 * 1024
    /// What a connection keeps between reads: its unfinished line (the buffer grows for a
    /// longer one). The reads themselves go into one buffer the server lends to each
    /// connection in turn, so a thousand clients cost a thousand small buffers, not a thousand
    /// read buffers.
    static let connectionBufferBytes = 4 * 1024
    /// At `max_connections`, a connection quiet this long gives its place to a waiting client.
    static let evictAfterNanoseconds: UInt64 = 10_000_000_000
    /// `idle_timeout`'s default.
    public static let defaultIdleTimeoutNanoseconds: UInt64 = 300_000_000_000

    public init(
        name: String, endpoint: Endpoint, settings: SourceSettings, host: String,
        maxConnections: Int = 256, idleTimeoutNanoseconds: UInt64 = StreamServerSource.defaultIdleTimeoutNanoseconds, framing: Framing = .newline
    ) {
        self.name = name
        self.endpoint = endpoint
        self.settings = settings
        self.host = host
        self.maxConnections = maxConnections
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
        self.framing = framing
    }

    /// The TCP port actually bound (useful with port 0), once listening.
    public var boundPort: Int? { listeningPort.withLock { $0 } }

    public func run(_ context: SourceContext) throws {
        let listener: Int32
        switch endpoint {
        case .tcp(let address):
            listener = try SocketListener.inet(address, kind: .stream, source: name)
            listeningPort.withLock { $0 = SocketListener.boundPort(listener) }
        case .unix(let socketPath):
            listener = try SocketListener.unix(socketPath, kind: .stream, source: name)
        }
        defer {
            if case .unix(let socketPath) = endpoint { unlink(socketPath.path) }
        }
        context.markReady()
        logger.info("listening", metadata: ["source": "\(name)", "on": "\(endpoint.description)", "port": "\(boundPort.map(String.init) ?? "-")"])
        var server = try Server(source: self, listener: listener, context: context)
        server.run()
    }

    /// One accepted connection's stream.
    final class Connection {
        var framing: StreamFraming
        var lastActivity: UInt64

        init(framing: consuming StreamFraming, now: UInt64) {
            self.framing = framing
            lastActivity = now
        }
    }

    /// The serving loop's state, a value on the source's thread.
    struct Server: ~Copyable {
        let source: StreamServerSource
        var listener: Int32
        let context: SourceContext
        var epoll: Epoll
        var encoding: BatchEncoding
        var connections: [Int32: Connection] = [:]
        /// The read buffer, lent to the connection being read (`LineFramer.exchangeBuffer`).
        var readBuffer = ReadBuffer(capacity: StreamServerSource.readSize * 2)
        var acceptingPaused = false
        var warnedAtLimit = false
        /// While `accept` fails for want of resources: when to try again, and the backoff.
        var acceptRetryAt: UInt64?
        var acceptBackoffMilliseconds: UInt64 = 0

        init(source: StreamServerSource, listener: Int32, context: SourceContext) throws {
            self.source = source
            self.listener = listener
            self.context = context
            epoll = try Epoll(source: source.name)
            encoding = BatchEncoding(
                context: context, format: source.settings.format,
                metadata: source.settings.metadata(sourceName: source.name, stream: nil, host: source.host),
                readSize: StreamServerSource.readSize
            )
            epoll.add(listener)
            epoll.add(context.shutdown.drainDescriptor)
            epoll.add(context.shutdown.stopDescriptor)
        }

        deinit {
            if listener >= 0 { close(listener) }
            for descriptor in connections.keys {
                close(descriptor)
                DescriptorBudget.shared.release()
            }
        }

        mutating func run() {
            while true {
                let ready = epoll.wait(timeoutMilliseconds: nextTimeoutMilliseconds())
                for (descriptor, _) in ready {
                    if descriptor == listener {
                        acceptAll()
                    } else if descriptor == context.shutdown.stopDescriptor {
                        closeAll()
                        _ = encoding.publish()
                        return
                    } else if descriptor == context.shutdown.drainDescriptor {
                        stopAccepting()
                    } else if let connection = connections[descriptor] {
                        guard read(connection, descriptor: descriptor) else { return }
                    }
                }
                if let retryAt = acceptRetryAt, MonotonicClock.nowNanoseconds() >= retryAt { resumeAccepting() }
                guard evictQuietestForWaitingClient() else { return }
                guard expireGroupsAndIdleConnections(), encoding.publish() else { return }
                if listener < 0 && connections.isEmpty { return }
            }
        }

        private mutating func acceptAll() {
            while connections.count < source.maxConnections {
                // The budget is taken before `accept`: a client beyond it waits in the backlog
                // with what it wrote, as for EMFILE, rather than being accepted and closed.
                guard DescriptorBudget.shared.acquire() else {
                    backOffAccepting(EMFILE)
                    return
                }
                let descriptor = sluice_accept(listener)
                guard descriptor >= 0 else {
                    let error = errno
                    DescriptorBudget.shared.release()
                    switch error {
                    case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                        backOffAccepting(error)
                        return
                    case ECONNABORTED, EINTR, EPROTO, EPERM:
                        continue  // that client is gone or refused; the next may be fine
                    default:
                        // EAGAIN: every waiting client is in; a shortage, if there was one, is over.
                        if acceptBackoffMilliseconds > 0 {
                            acceptBackoffMilliseconds = 0
                            source.logger.info("accepting connections again", metadata: ["source": "\(source.name)"])
                        }
                        return
                    }
                }
                connections[descriptor] = Connection(
                    framing: StreamFraming(
                        maxLineBytes: source.settings.maxLineBytes, readSize: StreamServerSource.readSize,
                        framing: source.framing, multiline: source.settings.multiline,
                        initialCapacity: StreamServerSource.connectionBufferBytes
                    ),
                    now: MonotonicClock.nowNanoseconds()
                )
                epoll.add(descriptor)
            }
            // At the limit: leave new clients in the backlog until a connection closes.
            epoll.remove(listener)
            acceptingPaused = true
            if !warnedAtLimit {
                warnedAtLimit = true
                source.logger.warning("max_connections reached; new clients wait until one closes", metadata: [
                    "source": "\(source.name)", "max_connections": "\(source.maxConnections)",
                ])
            }
        }

        /// `accept` failed for want of descriptors or memory: stop watching the listener (it stays
        /// readable) and try again after a backoff, or sooner when a connection closes.
        private mutating func backOffAccepting(_ error: Int32) {
            context.counters.acceptErrors.add(1)
            if acceptBackoffMilliseconds == 0 {
                source.logger.error("cannot accept connections: \(String(cString: strerror(error))); retrying as descriptors free up", metadata: [
                    "source": "\(source.name)", "errno": "\(error)", "connections": "\(connections.count)",
                ])
            }
            acceptBackoffMilliseconds = min(max(acceptBackoffMilliseconds * 2, 50), 1000)
            acceptRetryAt = MonotonicClock.nowNanoseconds() + acceptBackoffMilliseconds * 1_000_000
            if !acceptingPaused { epoll.remove(listener) }
            acceptingPaused = true
        }

        /// Watches the listener again (after a backoff, or when a connection closed). After a
        /// shortage it tries at once: an empty backlog (EAGAIN) says the shortage is over even
        /// when no client is waiting to make the listener readable.
        private mutating func resumeAccepting() {
            acceptRetryAt = nil
            guard acceptingPaused, listener >= 0, connections.count < source.maxConnections else { return }
            epoll.add(listener)
            acceptingPaused = false
            if acceptBackoffMilliseconds > 0 { acceptAll() }
        }

        private mutating func stopAccepting() {
            epoll.remove(context.shutdown.drainDescriptor)
            guard listener >= 0 else { return }
            if !acceptingPaused { epoll.remove(listener) }
            close(listener)
            listener = -1
        }

        /// One read from a ready connection. False when the pipeline is closed.
        private mutating func read(_ connection: Connection, descriptor: Int32) -> Bool {
            connection.framing.framer.exchangeBuffer(with: &readBuffer)
            defer { connection.framing.framer.exchangeBuffer(with: &readBuffer) }
            let space = connection.framing.framer.spaceForRead()
            let count = Glibc.read(descriptor, space.baseAddress, space.count)
            if count > 0 {
                connection.framing.framer.didRead(count)
                connection.lastActivity = MonotonicClock.nowNanoseconds()
                return encoding.encodeLines(from: &connection.framing, atEnd: false)
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return true }
            return closeConnection(descriptor)
        }

        /// Publishes what the connection left unfinished and closes it.
        private mutating func closeConnection(_ descriptor: Int32) -> Bool {
            guard let connection = connections.removeValue(forKey: descriptor) else { return true }
            epoll.remove(descriptor)
            close(descriptor)
            DescriptorBudget.shared.release()
            resumeAccepting()
            return encoding.encodeLines(from: &connection.framing, atEnd: true)
        }

        private mutating func closeAll() {
            for descriptor in Array(connections.keys) { _ = closeConnection(descriptor) }
        }

        /// At `max_connections` with a client waiting in the backlog: the connection quiet
        /// longest, if quiet for `evictAfterNanoseconds`, is closed (what it left unfinished
        /// published) and the client accepted. False when the pipeline is closed.
        private mutating func evictQuietestForWaitingClient() -> Bool {
            guard acceptingPaused, acceptRetryAt == nil, listener >= 0, connections.count >= source.maxConnections else { return true }
            let now = MonotonicClock.nowNanoseconds()
            guard let (descriptor, quietest) = connections.min(by: { $0.value.lastActivity < $1.value.lastActivity }),
                  now - quietest.lastActivity >= StreamServerSource.evictAfterNanoseconds else { return true }
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 0) == 1 else { return true }
            context.counters.evictedConnections.add(1)
            source.logger.info("max_connections reached; closing the connection quiet longest for a waiting client", metadata: [
                "source": "\(source.name)", "quiet_seconds": "\((now - quietest.lastActivity) / 1_000_000_000)",
            ])
            return closeConnection(descriptor)
        }

        private func nextTimeoutMilliseconds() -> Int32 {
            var timeout = -1
            if acceptingPaused && acceptRetryAt == nil && connections.count >= source.maxConnections {
                timeout = 1000  // look for a quiet connection to give a waiting client its place
            }
            if let retryAt = acceptRetryAt {
                let now = MonotonicClock.nowNanoseconds()
                timeout = retryAt <= now ? 0 : Int((retryAt - now) / 1_000_000) + 1
            }
            for connection in connections.values {
                if let deadline = connection.framing.multilineDeadlineMilliseconds() {
                    timeout = timeout < 0 ? deadline : min(timeout, deadline)
                }
            }
            if source.idleTimeoutNanoseconds > 0 && !connections.isEmpty {
                let check = Int(min(source.idleTimeoutNanoseconds / 1_000_000, 1000))
                timeout = timeout < 0 ? check : min(timeout, check)
            }
            return Int32(timeout)
        }

        private mutating func expireGroupsAndIdleConnections() -> Bool {
            let now = MonotonicClock.nowNanoseconds()
            for (descriptor, connection) in connections {
                if connection.framing.multilineGroupExpired() {
                    encoding.closeGroup(of: &connection.framing)
                }
                if source.idleTimeoutNanoseconds > 0, now - connection.lastActivity >= source.idleTimeoutNanoseconds {
                    guard closeConnection(descriptor) else { return false }
                }
            }
            return true
        }
    }
}
