import FoundationEssentials

/// One NATS server to connect to: `nats://host:port`, `tls://host:port` (TLS required) or a
/// bare `host:port`; the port defaults to 4222. Credentials in the URL are not taken: they go in
/// the `auth` settings, which are redacted.
public struct NATSServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var requiresTLS: Bool

    public init(host: String, port: Int, requiresTLS: Bool = false) {
        self.host = host
        self.port = port
        self.requiresTLS = requiresTLS
    }

    /// Reads a server URL; nil (with the reason) when it is not one.
    public static func parse(_ text: String) -> Result<NATSServerAddress, NATSError> {
        var rest = Substring(text)
        var tls = false
        if let scheme = rest.firstRange(of: "://") {
            switch rest[..<scheme.lowerBound].lowercased() {
            case "nats": break
            case "tls": tls = true
            default: return .failure(NATSError("\"\(text)\" is not a NATS URL: the scheme must be nats:// or tls://"))
            }
            rest = rest[scheme.upperBound...]
        }
        if rest.contains("@") { return .failure(NATSError("\"\(text)\": put credentials in auth, not in the URL")) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = rest
        var port = 4222
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                return .failure(NATSError("\"\(text)\" has no valid port"))
            }
            port = number
            host = rest[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return .failure(NATSError("\"\(text)\" names no host")) }
        return .success(NATSServerAddress(host: String(host), port: port, requiresTLS: tls))
    }

    public var description: String { "\(requiresTLS ? "tls" : "nats")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// What went wrong talking to NATS, in words that name the server and the cause.
public struct NATSError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
