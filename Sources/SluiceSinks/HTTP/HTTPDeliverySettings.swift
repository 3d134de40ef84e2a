/// Settings shared by the `elasticsearch` and `http` sinks.
public struct HTTPDeliverySettings: Sendable {
    public var endpoint: String
    public var headers: [(String, String)]
    public var maxEvents: Int
    public var maxBytes: Int
    public var batchTimeoutNanoseconds: UInt64
    /// gzip level for request bodies; nil sends them uncompressed.
    public var gzipLevel: Int32?
    public var maxInFlight: Int
    public var requestTimeoutNanoseconds: UInt64
    public var retry: DeliveryStateMachine.Settings
    public var deadLetterPath: String?
    public var tls: TLSSettings
    /// Check `GET /` at start and log the server's version.
    public var healthCheck: Bool

    public struct TLSSettings: Sendable, Equatable {
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        /// Only when asked: skip verifying the server's certificate.
        public var verify: Bool = true
        public init() {}
    }

    public init(
        endpoint: String, headers: [(String, String)] = [], maxEvents: Int = 5000, maxBytes: Int = 5 << 20,
        batchTimeoutNanoseconds: UInt64 = 1_000_000_000, gzipLevel: Int32? = 1, maxInFlight: Int = 4,
        requestTimeoutNanoseconds: UInt64 = 30_000_000_000, retry: DeliveryStateMachine.Settings = .init(),
        deadLetterPath: String? = nil, tls: TLSSettings = TLSSettings(), healthCheck: Bool = false
    ) {
        self.endpoint = endpoint
        self.headers = headers
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.batchTimeoutNanoseconds = batchTimeoutNanoseconds
        self.gzipLevel = gzipLevel
        self.maxInFlight = maxInFlight
        self.requestTimeoutNanoseconds = requestTimeoutNanoseconds
        self.retry = retry
        self.deadLetterPath = deadLetterPath
        self.tls = tls
        self.healthCheck = healthCheck
    }
}
