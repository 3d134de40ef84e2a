/// Where and how a `nats` sink or source connects: its servers in order, credentials, TLS.
public struct NATSClientSettings: Sendable {
    public var servers: [NATSServerAddress]
    public var options: NATSConnection.Options

    public init(servers: [NATSServerAddress], options: NATSConnection.Options = .init()) {
        self.servers = servers
        self.options = options
    }
}

/// The servers to try, in turn: the configured ones, then those the servers' `INFO` advertised
/// (`connect_urls`: the rest of the cluster), each tried once per round.
public struct NATSServerRotation: Sendable {
    public private(set) var known: [NATSServerAddress]
    private var next = 0
    private let tls: Bool

    public init(_ settings: NATSClientSettings) {
        known = settings.servers
        tls = settings.servers.contains { $0.requiresTLS }
    }

    /// Adds the cluster's other servers a connection was told of.
    public mutating func learn(from info: NATSServerInfo) {
        for url in info.connectURLs {
            guard case .success(var address) = NATSServerAddress.parse(url) else { continue }
            address.requiresTLS = tls
            if !known.contains(where: { $0.host == address.host && $0.port == address.port }) { known.append(address) }
        }
    }

    /// Tries each known server once, starting after the last one used; the first connection
    /// made, or the error of every server tried.
    public mutating func connect(
        options: NATSConnection.Options, onClose: @escaping @Sendable (NATSError) -> Void
    ) -> Result<NATSConnection, NATSError> {
        var failures: [String] = []
        for _ in 0..<known.count {
            let address = known[next % known.count]
            next += 1
            do {
                let connection = try NATSConnection.connect(to: address, options: options, onClose: onClose)
                learn(from: connection.info)
                return .success(connection)
            } catch {
                failures.append(error.description)
            }
        }
        return .failure(NATSError(failures.joined(separator: "; ")))
    }
}
