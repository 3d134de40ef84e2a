import SluiceCore

/// OTLP/HTTP logs (`POST {endpoint}/v1/logs`): each event becomes a `LogRecord`, and a request
/// is one `ExportLogsServiceRequest` with one `ResourceLogs` per resource (never one per
/// record), in protobuf or OTLP/JSON.
///
/// Answers, as the OTLP specification says: only 429, 502, 503 and 504 (and connection
/// failures) are retried, after `Retry-After` when the server gives one; 413 splits the request;
/// any other status rejects it for good (dead-lettered with the server's message). A 200 with a
/// `partial_success` counts the records it rejected as `rejected`, never retried, and logs the
/// server's message.
///
/// A request item is the record's resource number (4 bytes) and the encoded record, followed
/// by the event's own JSON (what a dead letter keeps).
final class OTLPFormat: DeliveryFormat, @unchecked Sendable {
    // @unchecked: `encoder` is used by `append` only, on the sink's thread; the rest is
    // immutable or thread-safe (`resources`).
    let encoding: OTLPRecordEncoder.Encoding
    private let encoder: OTLPRecordEncoder
    private let resources: OTLPResources

    var path: String { "/v1/logs" }
    var contentType: String { encoding == .protobuf ? "application/x-protobuf" : "application/json" }

    init(encoding: OTLPRecordEncoder.Encoding, resource: [(key: String, value: String)], labels: [String: Set<String>]) {
        self.encoding = encoding
        resources = OTLPResources(configured: resource)
        encoder = OTLPRecordEncoder(encoding: encoding, resources: resources, labels: labels)
    }

    func append(_ record: EventRecord, sourceName: String, to batch: RequestBatch) {
        let resource = encoder.encode(record, sourceName: sourceName, observedNanoseconds: UInt64(EventTimestamp.nowMilliseconds()) &* 1_000_000)
        let encoder = encoder
        batch.append(event: record.json, suffix: "") { bytes in
            withUnsafeBytes(of: resource.littleEndian) { bytes.append($0) }
            switch encoder.encoding {
            case .protobuf: bytes.append(encoder.record.bytes.bytes)
            case .json: bytes.append(encoder.json.bytes)
            }
        }
    }

    func body(of items: [Int], in batch: RequestBatch) -> [UInt8] {
        // Items grouped by resource, in the order each resource first appears.
        var order: [UInt32] = []
        var groups: [UInt32: [Int]] = [:]
        for item in items {
            let resource = Self.resource(of: item, in: batch)
            if groups[resource] == nil { order.append(resource) }
            groups[resource, default: []].append(item)
        }
        switch encoding {
        case .protobuf: return protobufBody(order, groups, batch)
        case .json: return jsonBody(order, groups, batch)
        }
    }

    private func protobufBody(_ order: [UInt32], _ groups: [UInt32: [Int]], _ batch: RequestBatch) -> [UInt8] {
        var request = ProtobufWriter(capacity: batch.byteCount + 1024)
        for resource in order {
            let encoded = resources.encoded(resource)
            request.nested(1) { resourceLogs in
                resourceLogs.nested(1) { $0.bytes.append(encoded.protobuf) }
                resourceLogs.nested(2) { scopeLogs in
                    scopeLogs.nested(1) { $0.stringField(1, "sluice") }
                    for item in groups[resource] ?? [] { scopeLogs.bytesField(2, Self.record(of: item, in: batch)) }
                }
            }
        }
        return Array(request.bytes.bytes)
    }

    private func jsonBody(_ order: [UInt32], _ groups: [UInt32: [Int]], _ batch: RequestBatch) -> [UInt8] {
        var json = ByteWriter(capacity: batch.byteCount + 1024)
        json.append(#"{"resourceLogs":["#)
        for (position, resource) in order.enumerated() {
            if position > 0 { json.append(UInt8(ascii: ",")) }
            json.append(#"{"resource":{"attributes":"#)
            json.append(resources.encoded(resource).json)
            json.append(#"},"scopeLogs":[{"scope":{"name":"sluice"},"logRecords":["#)
            for (index, item) in (groups[resource] ?? []).enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.append(Self.record(of: item, in: batch))
            }
            json.append("]}]}")
        }
        json.append("]}")
        return Array(json.bytes)
    }

    private static func resource(of item: Int, in batch: RequestBatch) -> UInt32 {
        let bytes = batch.item(item)
        return UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
    }

    private static func record(of item: Int, in batch: RequestBatch) -> UnsafeRawBufferPointer {
        let entry = batch.items[item]
        let whole = batch.item(item)
        return UnsafeRawBufferPointer(rebasing: whole[4..<Int(entry.eventStart - entry.start)])
    }

    func interpret(status: Int, body: [UInt8], itemCount: Int) -> DeliveryOutcome {
        switch status {
        case 200..<300:
            guard let partial = OTLPResponse.partialSuccess(body, encoding: encoding), partial.rejected > 0 else { return .accepted }
            return .partiallyRejected(count: partial.rejected, reason: partial.message)
        case 429, 502, 503, 504:
            return .retryable("HTTP \(status): \(OTLPResponse.message(body, encoding: encoding))")
        case 413:
            return .tooLarge
        default:
            return .rejected(status: status, reason: "HTTP \(status): \(OTLPResponse.message(body, encoding: encoding))")
        }
    }
}
