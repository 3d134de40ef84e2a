public import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server socket on event-loop threads of its own: the metrics endpoint and the
/// `otlp` source. `host:port` (port 0 picks one; an empty host is loopback); each connection
/// gets the HTTP pipeline and then the handlers `handlers` adds.
public final class HTTPListener: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    public struct AddressError: Error, CustomStringConvertible {
        public let address: String
        public let owner: String
        public var description: String { "\(owner): address \"\(address)\" is not host:port" }
    }

    /// - Parameters:
    ///   - secure: adds what goes before HTTP (TLS) to a new connection's pipeline, if anything.
    ///   - handlers: adds the request handler after the HTTP codec.
    public init(
        address: String, owner: String, threads: Int = 1,
        secure: (@Sendable (any Channel) -> EventLoopFuture<Void>)? = nil,
        handlers: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw AddressError(address: address, owner: owner)
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let http: @Sendable () -> EventLoopFuture<Void> = {
                    channel.pipeline.configureHTTPServerPipeline().flatMap { handlers(channel) }
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
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and closes every connection.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}
