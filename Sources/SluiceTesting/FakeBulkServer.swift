import CZlib
import Foundation
import SluiceSync

/// An Elasticsearch bulk endpoint for tests: every request is parsed (gzip bodies inflated),
/// its NDJSON action/source pairs validated, and answered by a scripted responder. By default it
/// indexes each `create` whose `_id` is new (201) and answers 409 for ids it already has, so
/// exactly-once delivery can be checked by counting ids.
public final class FakeBulkServer: Sendable {
    public struct Item: Sendable {
        public let action: String
        public let index: String
        public let id: String
        public let source: [String: any Sendable]
    }

    public struct BulkRequest: Sendable {
        public let items: [Item]
        public let compressed: Bool
        public let contentType: String?
        public let bodyBytes: Int
        /// Problems with the request's shape (not NDJSON pairs, no final newline, ...).
        public let problems: [String]
    }

    /// What to do with a request: answer it whole, or per item.
    public enum Reply: Sendable {
        /// Index what is new (201), 409 for what is known.
        case index
        /// Per item, in order: a status (201 indexes; others, with an error type, do not).
        case items([Int])
        /// The whole request gets this response.
        case status(Int, body: String = "")
        /// Close the connection without answering.
        case reset
        /// `index`, answered after a delay.
        case slowIndex(nanoseconds: UInt64)
    }

    private let shared = Shared()
    private let server: HTTPTestServer

    struct State {
        var indexed: [String: Int] = [:]
        var requests: [BulkRequest] = []
        var arrivals: [Double] = []
    }

    final class Shared: Sendable {
        let state = Locked<State>(State())
    }

    public init(port: Int = 0, tls: TestCertificate? = nil, responder: @escaping @Sendable (BulkRequest) -> Reply = { _ in .index }) throws {
        let state = shared
        server = try HTTPTestServer(port: port, tls: tls) { request in
            guard request.method == "POST", request.uri.hasSuffix("/_bulk") else {
                return .init(status: 200, body: #"{"name":"fake","version":{"number":"8.13.0"}}"#)
            }
            let bulk = Self.parse(request)
            let now = Date().timeIntervalSince1970
            state.state.withLock {
                $0.requests.append(bulk)
                $0.arrivals.append(now)
            }
            switch responder(bulk) {
            case .index:
                return .init(status: 200, body: Self.index(bulk, state: state))
            case .slowIndex(let delay):
                var response = HTTPTestServer.Response(status: 200, body: Self.index(bulk, state: state))
                response.delayNanoseconds = delay
                return response
            case .items(let statuses):
                return .init(status: 200, body: Self.answer(bulk, statuses: statuses, state: state))
            case .status(let code, let body):
                return .init(status: code, body: body)
            case .reset:
                return .init(dropConnection: true)
            }
        }
    }

    public var url: String { server.url }

    public func stop() {
        server.stop()
    }
    public var port: Int { server.port }
    public var requests: [BulkRequest] { shared.state.withLock { $0.requests } }
    /// Times each id was indexed (201); exactly-once means every value is 1.
    public var indexed: [String: Int] { shared.state.withLock { $0.indexed } }
    public var arrivalTimes: [Double] { shared.state.withLock { $0.arrivals } }

    private static func index(_ bulk: BulkRequest, state: Shared) -> String {
        let statuses = state.state.withLock { state in
            bulk.items.map { item -> Int in
                if state.indexed[item.id] != nil { return 409 }
                state.indexed[item.id] = 1
                return 201
            }
        }
        return response(bulk, statuses: statuses)
    }

    private static func answer(_ bulk: BulkRequest, statuses: [Int], state: Shared) -> String {
        state.state.withLock { state in
            for (item, status) in zip(bulk.items, statuses) where status == 201 {
                state.indexed[item.id, default: 0] += 1
            }
        }
        return response(bulk, statuses: statuses)
    }

    private static func response(_ bulk: BulkRequest, statuses: [Int]) -> String {
        let errors = statuses.contains { !(200..<300).contains($0) }
        let items = zip(bulk.items, statuses).map { item, status -> String in
            let error: String
            switch status {
            case 200..<300: error = ""
            case 409: error = #","error":{"type":"version_conflict_engine_exception","reason":"document already exists"}"#
            case 429: error = #","error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}"#
            case 400: error = #","error":{"type":"mapper_parsing_exception","reason":"failed to parse field"}"#
            default: error = #","error":{"type":"error","reason":"status \#(status)"}"#
            }
            return #"{"create":{"_index":"\#(item.index)","_id":"\#(item.id)","status":\#(status)\#(error)}}"#
        }
        return #"{"took":1,"errors":\#(errors),"items":[\#(items.joined(separator: ","))]}"#
    }

    private static func parse(_ request: HTTPTestServer.Request) -> BulkRequest {
        var problems: [String] = []
        let compressed = request.header("Content-Encoding") == "gzip"
        let body = compressed ? (gunzip(request.body) ?? []) : request.body
        if compressed && body.isEmpty { problems.append("the gzip body did not inflate") }
        if body.last != 0x0A { problems.append("no final newline") }
        let lines = body.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        var items: [Item] = []
        var index = lines.startIndex
        while index < lines.endIndex {
            guard index + 1 < lines.endIndex,
                  let action = try? JSONSerialization.jsonObject(with: Data(lines[index])) as? [String: [String: String]],
                  let (name, meta) = action.first,
                  let source = try? JSONSerialization.jsonObject(with: Data(lines[index + 1])) as? [String: Any] else {
                problems.append("line \(index - lines.startIndex + 1) is not an action/source pair")
                break
            }
            items.append(Item(action: name, index: meta["_index"] ?? "", id: meta["_id"] ?? "", source: source.mapValues { "\($0)" }))
            index += 2
        }
        return BulkRequest(items: items, compressed: compressed, contentType: request.header("Content-Type"), bodyBytes: request.body.count, problems: problems)
    }

    /// Inflates a gzip body (members concatenated allowed).
    public static func gunzip(_ data: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var input = data
        return input.withUnsafeMutableBytes { inputBytes -> [UInt8]? in
            stream.next_in = inputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(inputBytes.count)
            while true {
                let result = chunk.withUnsafeMutableBytes { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
                if result == Z_STREAM_END {
                    if stream.avail_in == 0 { return output }
                    inflateReset(&stream)
                } else if result != Z_OK {
                    return nil
                }
            }
        }
    }
}
