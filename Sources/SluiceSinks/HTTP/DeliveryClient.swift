import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import SluiceCore

/// One sink's HTTP client: TLS from the system trust store unless a CA file is given, a client
/// certificate when configured, connections enough for every request in flight. Calls block the
/// calling (worker) thread.
final class DeliveryClient: Sendable {
    let client: HTTPClient
    let settings: HTTPDeliverySettings
    let sinkName: String

    static let connectTimeoutNanoseconds: UInt64 = 5_000_000_000

    /// The TLS settings with their certificate and key read: what can fail in making a client.
    static func tlsConfiguration(_ settings: HTTPDeliverySettings) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.tls.caFile {
            tls.trustRoots = .file(caFile)
        }
        if let certificate = settings.tls.certificateFile, let key = settings.tls.keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        if !settings.tls.verify { tls.certificateVerification = .none }
        return tls
    }

    init(settings: HTTPDeliverySettings, sinkName: String, tls: TLSConfiguration) {
        self.settings = settings
        self.sinkName = sinkName
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, settings.maxInFlight * 2)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        // The client keeps retrying a connection that fails (refused, TLS handshake) until this
        // timeout, and only then reports why: bound it so a wrong certificate or address shows
        // in the log within seconds, however long `timeout` allows a request to take.
        configuration.timeout.connect = .nanoseconds(Int64(min(settings.requestTimeoutNanoseconds, Self.connectTimeoutNanoseconds)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// POSTs `body`, gzipped when configured (with the calling worker's `compressor`, into its
    /// `scratch`), and returns the status and response body.
    func post(
        path: String, contentType: String, body: UnsafeRawBufferPointer,
        compressor: inout GzipMemberCompressor?, scratch: inout ByteWriter
    ) throws -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "User-Agent", value: "sluice")
        for (name, value) in settings.headers { headers.add(name: name, value: value) }
        let payload: ByteBuffer
        if compressor != nil {
            scratch.removeAll()
            compressor!.compressMember(body, into: &scratch)
            payload = ByteBuffer(bytes: scratch.bytes)
            headers.add(name: "Content-Encoding", value: "gzip")
        } else {
            payload = ByteBuffer(bytes: body)
        }
        let request = try HTTPClient.Request(url: settings.endpoint + path, method: .POST, headers: headers, body: .byteBuffer(payload))
        return try execute(request)
    }

    func get(path: String) throws -> Response {
        var headers = HTTPHeaders()
        for (name, value) in settings.headers { headers.add(name: name, value: value) }
        return try execute(try HTTPClient.Request(url: settings.endpoint + path, method: .GET, headers: headers))
    }

    /// A response: its status, body, and `Retry-After` when it has one.
    struct Response {
        var status: Int
        var body: [UInt8]
        var retryAfterNanoseconds: UInt64?
    }

    private func execute(_ request: HTTPClient.Request) throws -> Response {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(settings.requestTimeoutNanoseconds))
        let response = try client.execute(request: request, deadline: deadline).wait()
        var body = response.body ?? ByteBuffer()
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.nanoseconds(from: $0, now: Date()) }
        return Response(status: Int(response.status.code), body: body.readBytes(length: body.readableBytes) ?? [], retryAfterNanoseconds: retryAfter)
    }

    func shutdown() {
        try? client.syncShutdown()
    }
}
