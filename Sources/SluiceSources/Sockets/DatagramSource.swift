public import SluiceCore
import Logging
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Receives datagrams (UDP, or a Unix datagram socket like `/dev/log`): one datagram is one
/// event, whatever newlines it holds. A datagram longer than `max_line_bytes` is truncated to
/// it and counted in `cut_line_parts`. On SIGTERM it reads what is already queued, then stops.
public final class DatagramSource: Source, SettingsCarrying {
    public enum Endpoint: Sendable {
        case udp(address: String)
        case unix(UnixSocketPath)
    }

    public let name: String
    public let endpoint: Endpoint
    public let settings: SourceSettings
    public let host: String
    private let listeningPort = Locked<Int?>(nil)
    private let logger = Logger(label: "sluice.source")

    public init(name: String, endpoint: Endpoint, settings: SourceSettings, host: String) {
        self.name = name
        self.endpoint = endpoint
        self.settings = settings
        self.host = host
    }

    /// The UDP port actually bound (useful with port 0), once listening.
    public var boundPort: Int? { listeningPort.withLock { $0 } }

    public func run(_ context: SourceContext) throws {
        let socket: Int32
        switch endpoint {
        case .udp(let address):
            socket = try SocketListener.inet(address, kind: .datagram, source: name)
            listeningPort.withLock { $0 = SocketListener.boundPort(socket) }
        case .unix(let socketPath):
            socket = try SocketListener.unix(socketPath, kind: .datagram, source: name)
        }
        defer {
            close(socket)
            if case .unix(let socketPath) = endpoint { unlink(socketPath.path) }
        }
        context.markReady()
        logger.info("listening", metadata: ["source": "\(name)", "port": "\(boundPort.map(String.init) ?? "-")"])
        var encoding = BatchEncoding(
            context: context, format: settings.format,
            metadata: settings.metadata(sourceName: name, stream: nil, host: host), readSize: 64 * 1024
        )
        // One byte more than the limit tells a datagram that was cut.
        let capacity = min(settings.maxLineBytes, 16 << 20) + 1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: context.shutdown.drainDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                throw SocketError(source: name, operation: "poll", target: "socket", errorNumber: errno)
            }
            let draining = descriptors[1].revents != 0
            // Everything queued now, up to a batch's worth, then publish once.
            while encoding.pendingBytes < 512 * 1024 {
                let count = recv(socket, buffer.baseAddress, capacity, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
                if count < 0 { break }
                let kept = min(count, capacity - 1)
                encoding.encodeMessage(UnsafeRawBufferPointer(rebasing: buffer[0..<kept]), truncated: count > kept)
            }
            guard encoding.publish(), !draining else { return }
        }
    }
}
