public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore

extension StreamServerSource {
    /// `type: tcp`: newline-delimited (or RFC 6587 octet-counted) streams over TCP.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `address` | host:port | `127.0.0.1:5170` | where to listen (loopback unless configured) |
    /// | `max_connections` | integer | `256` | beyond it, new clients wait in the backlog (and take the place of a connection quiet for 10 s) |
    /// | `idle_timeout` | duration | `5m` | close a connection quiet this long (`0s`: never) |
    /// | `framing` | `newline`, `octet_counting` | `newline` | how messages are delimited |
    ///
    /// `type: unix` takes `path` (required), `mode` (`"0660"`), `owner` and `group` instead of
    /// `address`. Both take the keys of every source (`SourceSettings`).
    public convenience init(name: String, reading reader: ConfigReader, type: String, host: String) {
        let endpoint: Endpoint
        if type == "unix" {
            endpoint = .unix(UnixSocketPath(reading: reader, example: "/var/run/sluice/sluice.sock"))
        } else {
            endpoint = .tcp(address: reader.string("address", default: "127.0.0.1:5170"))
        }
        self.init(
            name: name, endpoint: endpoint, settings: SourceSettings(reading: reader), host: host,
            maxConnections: reader.int("max_connections", default: 256, range: 1...1_000_000),
            idleTimeoutNanoseconds: reader.duration("idle_timeout", default: StreamServerSource.defaultIdleTimeoutNanoseconds),
            framing: reader.choice("framing", default: Framing.newline)
        )
    }
}

extension DatagramSource {
    /// `type: udp` (`address`, default `127.0.0.1:5170`) and `type: unix_dgram` (`path`
    /// required, `mode` `"0660"`, `owner`, `group`: the `/dev/log` shape): one datagram, one
    /// event. Plus the keys of every source (`SourceSettings`).
    public convenience init(name: String, reading reader: ConfigReader, type: String, host: String) {
        let endpoint: Endpoint
        if type == "unix_dgram" {
            endpoint = .unix(UnixSocketPath(reading: reader, example: "/dev/log"))
        } else {
            endpoint = .udp(address: reader.string("address", default: "127.0.0.1:5170"))
        }
        self.init(name: name, endpoint: endpoint, settings: SourceSettings(reading: reader), host: host)
    }
}

extension UnixSocketPath {
    /// `path` (required), `mode` (octal, `"0660"`), `owner` and `group` (names or numbers).
    init(reading reader: ConfigReader, example: String) {
        self.init(
            path: reader.requiredString("path", hint: "the socket file to create, such as \(example)"),
            mode: reader.fileMode("mode", default: 0o660), owner: reader.userID("owner"), group: reader.groupID("group")
        )
    }
}

extension StreamServerSource {
    /// `type: unix` and `type: tcp`.
    public static let registrations = ["unix", "tcp"].map { type in
        SourceRegistration(type: type) { StreamServerSource(name: $0, reading: $1, type: type, host: $2.host) }
    }
}

extension DatagramSource {
    /// `type: unix_dgram` and `type: udp`.
    public static let registrations = ["unix_dgram", "udp"].map { type in
        SourceRegistration(type: type) { DatagramSource(name: $0, reading: $1, type: type, host: $2.host) }
    }
}
