import FoundationEssentials
public import SluiceConfig
public import SluiceNATS

extension NATSClientSettings {
    /// The connection keys every `nats` sink and source has:
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `servers` | list of URLs | `["nats://127.0.0.1:4222"]` | `nats://host:port` or `tls://host:port`, tried in turn; the cluster's other servers are learnt from them |
    /// | `auth.token` | secret | none | a token the servers require |
    /// | `auth.user`, `auth.password` | string, secret | none | or a user and password |
    /// | `auth.credentials_file` | path | none | or a user credentials file (a JWT and its NKey seed, as `nsc` writes them) |
    /// | `auth.nkey_seed_file` | path | none | or a file holding a user's NKey seed (`SU...`) |
    /// | `tls.ca_file` | PEM path | system roots | the CA the servers' certificates are checked against |
    /// | `tls.certificate_file`, `tls.key_file` | PEM paths | none | a client certificate |
    /// | `connect_timeout` | duration | `2s` | per server, handshake included |
    ///
    /// A TLS section, or a `tls://` URL, turns TLS on; a server that requires TLS gets it anyway.
    public init(reading reader: ConfigReader, clientName: String) {
        var servers: [NATSServerAddress] = []
        for url in reader.stringList("servers") ?? ["nats://127.0.0.1:4222"] {
            switch NATSServerAddress.parse(url) {
            case .success(let address): servers.append(address)
            case .failure(let problem): reader.reportInvalid("servers", problem.description)
            }
        }
        if servers.isEmpty && reader.stringList("servers") != nil { reader.reportInvalid("servers", "lists no server") }
        var options = NATSConnection.Options()
        options.name = clientName
        let auth = reader.section("auth")
        options.token = auth.secret("token").flatMap { $0.isEmpty ? nil : $0 }
        options.user = auth.optionalString("user").flatMap { $0.isEmpty ? nil : $0 }
        options.password = auth.secret("password")
        if let path = auth.optionalString("credentials_file"), !path.isEmpty {
            switch Self.readFile(path).flatMap(NATSCredentials.read) {
            case .success(let credentials):
                options.nkey = credentials.key
                options.jwt = credentials.jwt
            case .failure(let problem): auth.reportInvalid("credentials_file", problem.description)
            }
        }
        if let path = auth.optionalString("nkey_seed_file"), !path.isEmpty {
            switch Self.readFile(path).flatMap(NKey.fromSeed) {
            case .success(let key): options.nkey = options.nkey ?? key
            case .failure(let problem): auth.reportInvalid("nkey_seed_file", problem.description)
            }
        }
        let ways = [options.token != nil, options.user != nil, options.nkey != nil].filter { $0 }.count
        if ways > 1 { auth.reportInvalid("token", "give one of token, user and password, credentials_file or nkey_seed_file") }
        auth.rejectUnknownKeys()
        if let tls = reader.optionalSection("tls") {
            options.tls = true
            options.caFile = tls.optionalString("ca_file")
            options.certificateFile = tls.optionalString("certificate_file")
            options.keyFile = tls.optionalString("key_file")
            if (options.certificateFile == nil) != (options.keyFile == nil) {
                tls.reportInvalid("certificate_file", "a client certificate needs both certificate_file and key_file")
            }
            tls.rejectUnknownKeys()
        }
        options.timeoutNanoseconds = Int64(reader.duration("connect_timeout", default: 2_000_000_000, minimum: 10_000_000))
        self.init(servers: servers, options: options)
    }

    private static func readFile(_ path: String) -> Result<String, NATSError> {
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(NATSError("cannot read \(path)")) }
        return .success(String(decoding: data, as: UTF8.self))
    }
}
