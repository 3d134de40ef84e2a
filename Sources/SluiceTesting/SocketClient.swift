import Glibc

/// Clients for the socket sources, as other processes would use them.
public enum SocketClient {
    /// A connected TCP socket to 127.0.0.1:`port`.
    public static func tcp(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw ChildProcessError(message: "connect to port \(port) failed: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// A TCP socket listening on 127.0.0.1 at a port the kernel picks, and that port: a peer
    /// that accepts connections and, unless the test does, never answers.
    public static func listener() throws -> (descriptor: Int32, port: Int) {
        let (descriptor, port) = try boundLoopbackSocket()
        guard listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw ChildProcessError(message: "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        return (descriptor, port)
    }

    /// A TCP socket bound to 127.0.0.1 at a port the kernel picks, and that port.
    private static func boundLoopbackSocket() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else {
            close(descriptor)
            throw ChildProcessError(message: "cannot bind on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port on 127.0.0.1 held bound without listening, so connections to it are refused and
    /// no other test's listener can take it meanwhile (a released port can be handed to a
    /// concurrent test's never-answering `listener()`, turning "refused" into a request timeout).
    /// Close the descriptor just before starting a server on the port.
    public static func refusingPort() throws -> (descriptor: Int32, port: Int) {
        try boundLoopbackSocket()
    }

    /// A port on 127.0.0.1 that nothing listens on (bound once and released): connections to
    /// it are refused until a test starts a server there.
    public static func freePort() throws -> Int {
        let (descriptor, port) = try listener()
        close(descriptor)
        return port
    }

    /// A connected Unix stream (or datagram) socket to `path`.
    public static func unix(path: String, datagram: Bool = false) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32((datagram ? SOCK_DGRAM : SOCK_STREAM).rawValue), 0)
        var address = unixAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw ChildProcessError(message: "connect to \(path) failed: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// Sends one UDP datagram to 127.0.0.1:`port`.
    public static func udp(port: Int, _ message: String) {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, target, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// Writes everything (blocking).
    public static func send(_ descriptor: Int32, _ text: String) {
        send(descriptor, Array(text.utf8))
    }

    public static func send(_ descriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Leaves a socket file at `path` with nobody listening, as a crashed process would.
    public static func leaveStaleSocket(at path: String) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = unixAddress(path)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(descriptor)
    }

    private static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        return address
    }
}

extension ChildProcess {
    /// The port a running `sluice` logged for source `name` ("listening" line).
    public func listeningPort(of name: String, seconds: Double = 30) -> Int? {
        loggedPort(seconds: seconds) { $0.contains("\"listening\"") && $0.contains("\"source\":\"\(name)\"") }
    }

    /// The port a running `sluice` serves `/metrics` on ("metrics listening" line).
    public func metricsPort(seconds: Double = 30) -> Int? {
        loggedPort(seconds: seconds) { $0.contains("\"metrics listening\"") }
    }

    private func loggedPort(seconds: Double = 30, where matches: (String) -> Bool) -> Int? {
        var port: Int?
        _ = Eventually.wait(seconds: seconds) {
            for line in standardErrorLines where matches(line) {
                if let range = line.firstRange(of: "\"port\":") {
                    port = Int(line[range.upperBound...].prefix { $0.isNumber })
                }
            }
            return port != nil
        }
        return port
    }
}

/// A bare HTTP/1.1 GET (or POST) over a socket, for scraping a running Sluice's endpoints.
public enum HTTPGet {
    public static func get(port: Int, path: String, headers: [String: String] = [:]) throws -> (status: Int, body: String) {
        try exchange(port: port, request: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(fields(headers))Connection: close\r\n\r\n")
    }

    /// A POST of `body`, answered the same way.
    public static func post(port: Int, path: String, body: String, headers: [String: String] = [:]) throws -> (status: Int, body: String) {
        try exchange(
            port: port,
            request: "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(fields(headers))Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        )
    }

    private static func fields(_ headers: [String: String]) -> String {
        headers.map { "\($0.key): \($0.value)\r\n" }.joined()
    }

    private static func exchange(port: Int, request: String) throws -> (status: Int, body: String) {
        let socket = try SocketClient.tcp(port: port)
        defer { close(socket) }
        SocketClient.send(socket, request)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.firstRange(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// The value of a sample line (`name{labels} value`) in Prometheus text; nil when absent.
    public static func metric(_ text: String, _ nameWithLabels: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(nameWithLabels + " ") {
            return Double(line.dropFirst(nameWithLabels.count + 1))
        }
        return nil
    }
}
