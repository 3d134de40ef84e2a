import FoundationEssentials
public import SluiceComponentConfig
public import SluiceConfig

extension HTTPDeliverySettings {
    /// Keys shared by `elasticsearch` and `http`:
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `batch.max_events` | integer | `5000` | events per request at most |
    /// | `batch.max_bytes` | size | `5MiB` | request body (uncompressed) at most |
    /// | `batch.timeout` | duration | `1s` | a request is sent at least this often |
    /// | `compression` | `gzip`, `none` | `gzip` | `Content-Encoding` of requests |
    /// | `compression_level` | 1–9 | `1` | gzip level |
    /// | `max_in_flight` | integer | `4` | requests at once, retries included |
    /// | `timeout` | duration | `30s` | per request |
    /// | `retry.initial_backoff` | duration | `200ms` | doubling, with jitter ... |
    /// | `retry.max_backoff` | duration | `30s` | ... up to this |
    /// | `dead_letter.path` | path | none | NDJSON of events rejected for good |
    /// | `headers` | map | none | extra headers (values are secrets) |
    /// | `tls.ca_file`, `tls.certificate_file`, `tls.key_file` | paths | system trust store | |
    /// | `tls.verify` | bool | `true` | `false` skips certificate checks (only when asked) |
    init(
        reading reader: ConfigReader, endpoint: String, authorization: String?, healthCheck: Bool,
        defaultMaxEvents: Int = 5000, defaultMaxBytes: Int = 5 << 20
    ) {
        let batch = reader.section("batch")
        let maxEvents = batch.int("max_events", default: defaultMaxEvents, range: 1...1_000_000)
        let maxBytes = batch.size("max_bytes", default: defaultMaxBytes, range: 1024...(512 << 20))
        let timeout = batch.duration("timeout", default: 1_000_000_000, minimum: 1_000_000)
        batch.rejectUnknownKeys()
        let compression = reader.choice("compression", default: Compression.gzip)
        let level = reader.int("compression_level", default: 1, range: 1...9)
        var headers: [(String, String)] = []
        let headerSection = reader.section("headers")
        for name in headerSection.presentKeys { headers.append((name, headerSection.secret(name) ?? "")) }
        if let authorization { headers.append(("Authorization", authorization)) }
        let retrySection = reader.section("retry")
        var retry = DeliveryStateMachine.Settings()
        retry.initialBackoffNanoseconds = retrySection.duration("initial_backoff", default: 200_000_000, minimum: 1_000_000)
        retry.maximumBackoffNanoseconds = retrySection.duration("max_backoff", default: 30_000_000_000, minimum: 1_000_000)
        retrySection.rejectUnknownKeys()
        let deadLetter = reader.section("dead_letter")
        let deadLetterPath = deadLetter.optionalString("path")
        deadLetter.rejectUnknownKeys()
        let tlsSection = reader.section("tls")
        var tls = TLSSettings()
        tls.caFile = tlsSection.optionalString("ca_file")
        tls.certificateFile = tlsSection.optionalString("certificate_file")
        tls.keyFile = tlsSection.optionalString("key_file")
        tls.verify = tlsSection.bool("verify", default: true)
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            tlsSection.reportInvalid("certificate_file", "a client certificate needs both certificate_file and key_file")
        }
        tlsSection.rejectUnknownKeys()
        self.init(
            endpoint: endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint, headers: headers,
            maxEvents: maxEvents, maxBytes: maxBytes, batchTimeoutNanoseconds: timeout,
            gzipLevel: compression == .gzip ? Int32(level) : nil,
            maxInFlight: reader.int("max_in_flight", default: 4, range: 1...256),
            requestTimeoutNanoseconds: reader.duration("timeout", default: 30_000_000_000, minimum: 1_000_000),
            retry: retry, deadLetterPath: deadLetterPath, tls: tls, healthCheck: healthCheck
        )
    }

    enum Compression: String, CaseIterable {
        case gzip, none
    }

    /// Checks an endpoint URL, reporting it under `key`.
    static func checkURL(_ url: String, key: String, reader: ConfigReader) {
        guard !url.isEmpty else { return }
        if !url.hasPrefix("http://") && !url.hasPrefix("https://") {
            reader.reportInvalid(key, "must start with http:// or https://")
        }
        if let scheme = url.firstRange(of: "://"), url[scheme.upperBound...].prefix(while: { $0 != "/" }).contains("@") {
            reader.reportInvalid(key, "put credentials in api_key, username/password or bearer_token (from the environment), not in the URL")
        }
    }
}

/// `type: elasticsearch` (Elasticsearch or OpenSearch).
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `endpoint` | URL | `http://127.0.0.1:9200` | the cluster |
/// | `index` | template | `logs-{source}-%Y.%m.%d` | strftime of the event's `@timestamp` (UTC), `{source}`; lower-cased |
/// | `data_stream` | name | none | write to a data stream instead (`{source}` allowed) |
/// | `api_key` / `username`, `password` / `bearer_token` | secrets | none | authentication |
///
/// Plus the keys shared with `http` (`HTTPDeliverySettings(reading:...)`).
public struct ElasticsearchSettings: Sendable {
    public var delivery: HTTPDeliverySettings
    public var target: BulkFormat.Target

    public init(reading reader: ConfigReader) {
        let endpoint = reader.string("endpoint", default: "http://127.0.0.1:9200")
        HTTPDeliverySettings.checkURL(endpoint, key: "endpoint", reader: reader)
        let index = reader.string("index", default: "logs-{source}-%Y.%m.%d")
        let dataStream = reader.optionalString("data_stream").flatMap { $0.isEmpty ? nil : $0 }
        target = dataStream.map(BulkFormat.Target.dataStream) ?? .index(index)
        let apiKey = reader.secret("api_key").flatMap { $0.isEmpty ? nil : $0 }
        let username = reader.optionalString("username").flatMap { $0.isEmpty ? nil : $0 }
        let password = reader.secret("password").flatMap { $0.isEmpty ? nil : $0 }
        let token = reader.secret("bearer_token").flatMap { $0.isEmpty ? nil : $0 }
        var authorization: String?
        switch (apiKey, username, token) {
        case (let key?, nil, nil): authorization = "ApiKey \(key)"
        case (nil, let user?, nil): authorization = "Basic " + Data("\(user):\(password ?? "")".utf8).base64EncodedString()
        case (nil, nil, let bearer?): authorization = "Bearer \(bearer)"
        case (nil, nil, nil): authorization = nil
        default: reader.reportInvalid("api_key", "give one way to authenticate: api_key, username/password or bearer_token")
        }
        if password != nil && username == nil { reader.reportInvalid("password", "a password needs a username") }
        delivery = HTTPDeliverySettings(reading: reader, endpoint: endpoint, authorization: authorization, healthCheck: true)
    }
}

/// `type: http`: batches POSTed to any URL.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `url` | URL | required | where to POST |
/// | `format` | `ndjson`, `json_array` | `ndjson` | the body |
///
/// Plus the keys shared with `elasticsearch` (`HTTPDeliverySettings(reading:...)`).
public struct HTTPSinkSettings: Sendable {
    public var delivery: HTTPDeliverySettings
    public var encoding: PlainFormat.Encoding

    public init(reading reader: ConfigReader) {
        let url = reader.requiredString("url", hint: "where to POST events, such as https://logs.example.com/ingest")
        HTTPDeliverySettings.checkURL(url, key: "url", reader: reader)
        encoding = reader.choice("format", default: PlainFormat.Encoding.ndjson)
        delivery = HTTPDeliverySettings(reading: reader, endpoint: url, authorization: nil, healthCheck: false)
    }
}

extension HTTPDeliverySink {
    /// `type: elasticsearch` (the bulk API) and `type: http` (plain bodies).
    public static let registrations = [
        SinkRegistration(type: "elasticsearch") { name, reader, _ in
            let settings = ElasticsearchSettings(reading: reader)
            return SinkBlueprint { try HTTPDeliverySink.maker(name: name, settings: settings.delivery, format: BulkFormat(target: settings.target)) }
        },
        SinkRegistration(type: "http") { name, reader, _ in
            let settings = HTTPSinkSettings(reading: reader)
            return SinkBlueprint { try HTTPDeliverySink.maker(name: name, settings: settings.delivery, format: PlainFormat(encoding: settings.encoding)) }
        },
    ]
}
