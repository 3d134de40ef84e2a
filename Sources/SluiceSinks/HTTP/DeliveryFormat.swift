public import SluiceCore

/// How a kind of HTTP sink writes events into requests and reads the answers. The batching,
/// compression, retries and dead letters around it are shared (`HTTPDeliverySink`).
public protocol DeliveryFormat: Sendable {
    /// Added to the endpoint (`/_bulk`).
    var path: String { get }
    var contentType: String { get }

    /// Appends one event to the request being built.
    func append(_ record: EventRecord, sourceName: String, to batch: RequestBatch)

    /// The body for these items (all of them, or a subset being retried).
    func body(of items: [Int], in batch: RequestBatch) -> [UInt8]

    /// Reads a response to a request of `itemCount` items.
    func interpret(status: Int, body: [UInt8], itemCount: Int) -> DeliveryOutcome

    /// Whether a request of every item is the batch's bytes as they are (no copy needed).
    var sendsItemsAsWritten: Bool { get }
}

extension DeliveryFormat {
    public var sendsItemsAsWritten: Bool { false }

    /// Calls `body` with the request body for `items`: the batch's own buffer when the request
    /// carries every item as written, else a built copy.
    func withBody<Result>(of items: [Int], in batch: RequestBatch, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        if sendsItemsAsWritten && items.count == batch.count {
            return try batch.withBytes(body)
        }
        return try self.body(of: items, in: batch).withUnsafeBytes(body)
    }

    /// What any HTTP endpoint's status means for a whole request.
    func outcome(ofStatus status: Int, body: [UInt8]) -> DeliveryOutcome {
        let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
        switch status {
        case 200..<300: return .accepted
        case 413: return .tooLarge
        case 401, 403: return .unauthorized("HTTP \(status): \(excerpt)")
        case 408, 429, 500..<600: return .retryable("HTTP \(status): \(excerpt)")
        default: return .rejected(status: status, reason: "HTTP \(status): \(excerpt)")
        }
    }

    /// Concatenated items.
    func concatenated(_ items: [Int], in batch: RequestBatch) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(items.count == batch.count ? batch.byteCount : batch.byteCount / max(1, batch.count) * items.count + 64)
        for index in items { body.append(contentsOf: batch.item(index)) }
        return body
    }
}

/// The generic `http` sink's bodies: NDJSON (one event per line) or one JSON array.
public struct PlainFormat: DeliveryFormat {
    public enum Encoding: String, Sendable, CaseIterable {
        case ndjson
        case jsonArray = "json_array"
    }

    public let encoding: Encoding
    public var path: String { "" }
    public var contentType: String { encoding == .ndjson ? "application/x-ndjson" : "application/json" }

    public init(encoding: Encoding) {
        self.encoding = encoding
    }

    public func append(_ record: EventRecord, sourceName: String, to batch: RequestBatch) {
        batch.append(event: record.json, suffix: encoding == .ndjson ? "\n" : "")
    }

    public var sendsItemsAsWritten: Bool { encoding == .ndjson }

    public func body(of items: [Int], in batch: RequestBatch) -> [UInt8] {
        guard encoding == .jsonArray else { return concatenated(items, in: batch) }
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (position, index) in items.enumerated() {
            if position > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: batch.item(index))
        }
        body.append(UInt8(ascii: "]"))
        return body
    }

    public func interpret(status: Int, body: [UInt8], itemCount: Int) -> DeliveryOutcome {
        outcome(ofStatus: status, body: body)
    }
}
