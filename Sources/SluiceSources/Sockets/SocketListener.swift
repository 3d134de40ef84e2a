import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// A Unix socket file to create: where, with which permissions and owner.
public struct UnixSocketPath: Sendable {
    public var path: String
    public var mode: UInt32
    public var owner: UInt32?
    public var group: UInt32?

    public init(path: String, mode: UInt32 = 0o660, owner: UInt32? = nil, group: UInt32? = nil) {
        self.path = path
        self.mode = mode
        self.owner = owner
        self.group = group
    }
}

/// Opens the sockets sources listen on: TCP and UDP on a `host:port` address, Unix stream and
/// datagram sockets on a path. Every descriptor is non-blocking and close-on-exec.
enum SocketListener {
    enum Kind {
        case stream, datagram

        var type: Int32 { self == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue) }
    }

    /// Binds `address` (`host:port`, `[v6]:port`; the host may be a name) and, for TCP, listens.
    static func inet(_ address: String, kind: Kind, source: String) throws -> Int32 {
        guard let (host, port) = splitHostPort(address) else {
            throw SocketError(source: source, operation: "parse address", target: address, errorNumber: EINVAL, detail: "expected host:port, such as 127.0.0.1:5170")
        }
        var hints = addrinfo()
        hints.ai_socktype = kind.type
        hints.ai_flags = AI_PASSIVE
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, port, &hints, &results)
        guard status == 0, let first = results else {
            throw SocketError(source: source, operation: "resolve", target: address, errorNumber: EINVAL, detail: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(results) }
        let descriptor = socket(first.pointee.ai_family, kind.type | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(source: source, operation: "socket", target: address, errorNumber: errno) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if kind == .datagram { enlargeReceiveBuffer(descriptor) }
        guard bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw closing(descriptor, SocketError(source: source, operation: "bind", target: address, errorNumber: errno))
        }
        if kind == .stream, listen(descriptor, 1024) != 0 {
            throw closing(descriptor, SocketError(source: source, operation: "listen", target: address, errorNumber: errno))
        }
        return descriptor
    }

    /// Binds a Unix socket at `path`, replacing a stale socket file left by a crash (one no
    /// process answers on), and sets its mode and owner.
    static func unix(_ socketPath: UnixSocketPath, kind: Kind, source: String) throws -> Int32 {
        let path = socketPath.path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SocketError(source: source, operation: "bind", target: path, errorNumber: ENAMETOOLONG, detail: "a Unix socket path must be shorter than \(capacity) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        try Directories.createParent(of: path, source: source)
        try removeStale(path, address: address, kind: kind, source: source)
        let descriptor = socket(AF_UNIX, kind.type | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(source: source, operation: "socket", target: path, errorNumber: errno) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            throw closing(descriptor, SocketError(source: source, operation: "bind", target: path, errorNumber: errno))
        }
        if kind == .datagram { enlargeReceiveBuffer(descriptor) }
        guard chmod(path, mode_t(socketPath.mode)) == 0 else {
            throw closing(descriptor, SocketError(source: source, operation: "chmod", target: path, errorNumber: errno))
        }
        if socketPath.owner != nil || socketPath.group != nil, chown(path, socketPath.owner ?? uid_t.max, socketPath.group ?? gid_t.max) != 0 {
            throw closing(descriptor, SocketError(source: source, operation: "chown", target: path, errorNumber: errno))
        }
        if kind == .stream, listen(descriptor, 1024) != 0 {
            throw closing(descriptor, SocketError(source: source, operation: "listen", target: path, errorNumber: errno))
        }
        return descriptor
    }

    private static func removeStale(_ path: String, address: sockaddr_un, kind: Kind, source: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketError(source: source, operation: "bind", target: path, errorNumber: EEXIST, detail: "exists and is not a socket")
        }
        let probe = socket(AF_UNIX, kind.type | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 {
            throw SocketError(source: source, operation: "bind", target: path, errorNumber: EADDRINUSE, detail: "another process is listening on it")
        }
        unlink(path)
    }

    /// Room for bursts of datagrams while the reader is busy: 4 MiB (the kernel caps it at
    /// `rmem_max`).
    private static func enlargeReceiveBuffer(_ descriptor: Int32) {
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes a descriptor that failed to set up, keeping the error (errno is read first).
    private static func closing(_ descriptor: Int32, _ error: SocketError) -> SocketError {
        close(descriptor)
        return error
    }

    /// The port a socket is bound to (for `:0` in tests).
    static func boundPort(_ descriptor: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        return withUnsafeBytes(of: &storage) { bytes in
            // sin_port and sin6_port are both at offset 2, in network order.
            Int(bytes[2]) << 8 | Int(bytes[3])
        }
    }

    /// `host:port` or `[v6]:port`.
    static func splitHostPort(_ address: String) -> (String, String)? {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            let rest = address[address.index(after: close)...]
            guard rest.hasPrefix(":"), rest.count > 1 else { return nil }
            return (String(address[address.index(after: address.startIndex)..<close]), String(rest.dropFirst()))
        }
        guard let colon = address.lastIndex(of: ":"), colon != address.startIndex else { return nil }
        let port = address[address.index(after: colon)...]
        guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return nil }
        return (String(address[..<colon]), String(port))
    }
}
