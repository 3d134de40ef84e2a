import ArgumentParser
import SluiceComponentConfig

#if canImport(Glibc)
import Glibc
#endif

/// Where the operator commands (`top`, `tap`) reach a running Sluice: `--address` and
/// `--token`; else the `metrics.address` and `metrics.token` of the running Sluice's own
/// configuration (`--config`, or `$SLUICE_CONFIG`, with its environment overrides such as
/// `SLUICE_METRICS_ADDRESS`); else `$SLUICE_METRICS_ADDRESS` and `$SLUICE_METRICS_TOKEN`, and
/// `127.0.0.1:${PORT:-9880}`.
struct AdminConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The running Sluice's metrics listener (default: its configuration's metrics.address, $SLUICE_METRICS_ADDRESS, else 127.0.0.1:${PORT:-9880}).", valueName: "HOST:PORT"))
    var address: String?

    @Option(help: ArgumentHelp("The admin API's bearer token (default: its configuration's metrics.token, else $SLUICE_METRICS_TOKEN).", valueName: "TOKEN"))
    var token: String?

    @OptionGroup var configuration: ConfigurationOptions

    /// A client for the address and token given, the configuration's, or the environment's.
    func client(registry: ComponentRegistry, environment: [String: String] = ProcessEnvironment.current) throws -> AdminClient {
        var configured: (address: String?, token: String?) = (nil, nil)
        if address == nil || token == nil, !configuration.files.isEmpty || !(environment["SLUICE_CONFIG"] ?? "").isEmpty {
            let loaded = try configuration.loadOrExit(registry: registry, environment: environment)
            guard loaded.metricsAddress != nil || address != nil else {
                throw ValidationError("the configuration turns metrics off (metrics.enabled: false): there is nothing to connect to; give --address")
            }
            configured = (loaded.metricsAddress, loaded.adminToken)
        }
        return AdminClient(
            address: address ?? configured.address ?? AdminClient.address(given: nil, environment: environment),
            token: token ?? configured.token ?? environment["SLUICE_METRICS_TOKEN"]
        )
    }
}

/// A blocking HTTP/1.1 GET to a running Sluice's metrics listener, for `sluice top` (and the
/// other operator commands): one connection per request, `Connection: close`, a 3 s timeout.
struct AdminClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `host:port`; a wildcard host (`0.0.0.0`, `::`, empty) is reached on loopback.
    let address: String
    /// Sent as `Authorization: Bearer <token>` to `/api/` paths.
    let token: String?

    /// The address to reach: `--address`, else `SLUICE_METRICS_ADDRESS`, else the default
    /// listener (`127.0.0.1:${PORT:-9880}`).
    static func address(given: String?, environment: [String: String]) -> String {
        given ?? environment["SLUICE_METRICS_ADDRESS"] ?? "127.0.0.1:\(environment["PORT"] ?? "9880")"
    }

    func get(_ path: String) throws(Failure) -> (status: Int, body: String) {
        let socket = try connect()
        defer { close(socket) }
        let authorization = path.hasPrefix("/api/") ? token.map { "Authorization: Bearer \($0)\r\n" } ?? "" : ""
        let request = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\n\(authorization)Connection: close\r\n\r\n"
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "cannot send to \(address): \(String(cString: strerror(errno)))") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw Failure(description: "no answer from \(address): \(String(cString: strerror(errno)))") }
            response += buffer[0..<count]
            guard response.count < 64 << 20 else { throw Failure(description: "the answer from \(address) is past 64 MiB") }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "\(address) did not answer in HTTP")
        }
        return (status, text.firstRange(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? "")
    }

    /// Sends a GET for `path` and calls `line` with each line of a streamed (chunked) answer as
    /// it arrives, until the server ends it, `line` returns false, or `stop()` says so (checked
    /// every 200 ms). Returns the status; a status other than 200 comes with its body as the
    /// failure.
    func stream(_ path: String, stop: () -> Bool, line: (Substring) -> Bool) throws(Failure) -> Int {
        let socket = try connect()
        defer { close(socket) }
        let authorization = path.hasPrefix("/api/") ? token.map { "Authorization: Bearer \($0)\r\n" } ?? "" : ""
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\n\(authorization)Connection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw Failure(description: "cannot send to \(address): \(String(cString: strerror(errno)))")
        }
        var decoder = ChunkedLines()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stop() {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw Failure(description: "the stream from \(address) broke: \(String(cString: strerror(errno)))")
            }
            decoder.feed(buffer[0..<count])
            if let status = decoder.status, status != 200 {
                while count > 0, !decoder.bodyComplete, !stop() {
                    let more = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                    if more <= 0 { break }
                    decoder.feed(buffer[0..<more])
                }
                throw Failure(description: "\(address)\(path.split(separator: "?").first ?? "") answered \(status): \(decoder.plainBody)")
            }
            while let next = decoder.nextLine() {
                if !line(next) { return 200 }
            }
        }
        return decoder.status ?? 0
    }

    private func connect() throws(Failure) -> Int32 {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw Failure(description: "\(address) is not host:port")
        }
        var host = String(address[..<colon].filter { $0 != "[" && $0 != "]" })
        if host.isEmpty || host == "0.0.0.0" { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var lastError = ECONNREFUSED
        while let current = entry {
            let socket = Glibc.socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), current.pointee.ai_protocol)
            if socket >= 0 {
                var timeout = timeval(tv_sec: 3, tv_usec: 0)
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return socket }
                lastError = errno
                close(socket)
            }
            entry = current.pointee.ai_next
        }
        throw Failure(description: "cannot reach Sluice at \(address): \(String(cString: strerror(lastError))) (is it running, and is metrics.address this one?)")
    }
}
