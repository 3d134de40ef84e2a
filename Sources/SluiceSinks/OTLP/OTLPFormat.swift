public import SluiceCore
import SluiceSync

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
/// The sink's thread only copies each event into the request (with its source, time and
/// level in front); the delivery workers encode the records as they build each request body, so
/// the encoding runs on as many threads as requests are in flight.
public final class OTLPFormat: DeliveryFormat, @unchecked Sendable {
    // @unchecked: `lastSource` is used by `append` only, on the sink's thread; the rest is
    // immutable or thread-safe (`resources`, `sourceNames`).
    public let encoding: OTLPRecordEncoder.Encoding
    private let resources: OTLPResources
    private let labels: [String: Set<String>]
    private let sourceNames = Locked<[String]>([])
    private var lastSource: (name: String, number: UInt32)?

    public var path: String { "/v1/logs" }
    public var contentType: String { encoding == .protobuf ? "application/x-protobuf" : "application/json" }

    public init(encoding: OTLPRecordEncoder.Encoding, resource: [(key: String, value: String)], labels: [String: Set<String>]) {
        self.encoding = encoding
        self.labels = labels
        resources = OTLPResources(configured: resource)
    }

    /// An item: the source's number (4 bytes), the event's time (8) and level (1), then the
    /// event's JSON (what a dead letter keeps).
    public func append(_ record: EventRecord, sourceName: String, to batch: RequestBatch) {
        let source = sourceNumber(sourceName)
        batch.append(event: record.json, suffix: "") { bytes in
            withUnsafeBytes(of: source.littleEndian) { bytes.append($0) }
            withUnsafeBytes(of: record.timestampMilliseconds.littleEndian) { bytes.append($0) }
            bytes.append(record.level.rawValue)
        }
    }

    private func sourceNumber(_ name: String) -> UInt32 {
        if let last = lastSource, last.name == name { return last.number }
        let number = sourceNames.withLock { names -> UInt32 in
            if let known = names.firstIndex(of: name) { return UInt32(known) }
            names.append(name)
            return UInt32(names.count - 1)
        }
        lastSource = (name, number)
        return number
    }

    public func body(of items: [Int], in batch: RequestBatch) -> [UInt8] {
        let names = sourceNames.withLock { $0 }
        var encoder = OTLPRecordEncoder(encoding: encoding, resources: resources, labels: labels)
        var records = ProtobufWriter(capacity: batch.byteCount + 1024)
        var json = ByteWriter(capacity: encoding == .json ? batch.byteCount * 2 + 1024 : 16)
        // Every record encoded once, in order; then grouped by resource, in the order each
        // resource first appears.
        var spans: [(resource: UInt32, start: Int, end: Int)] = []
        spans.reserveCapacity(items.count)
        let observed = UInt64(EventTimestamp.nowMilliseconds()) &* 1_000_000
        for item in items {
            let header = batch.item(item)
            let source = Int(UInt32(littleEndian: header.loadUnaligned(as: UInt32.self)))
            let time = Int64(littleEndian: header.loadUnaligned(fromByteOffset: 4, as: Int64.self))
            let level = EventLevel(rawValue: header[12]) ?? .unknown
            let event = EventRecord(json: batch.event(item), timestampMilliseconds: time, level: level)
            let start = encoding == .protobuf ? records.count : json.count
            let resource = encoder.encode(event, sourceName: names[source], observedNanoseconds: observed, protobuf: &records, json: &json)
            spans.append((resource, start, encoding == .protobuf ? records.count : json.count))
        }
        var order: [UInt32] = []
        var groups: [UInt32: [Int]] = [:]
        for (index, span) in spans.enumerated() {
            if groups[span.resource] == nil { order.append(span.resource) }
            groups[span.resource, default: []].append(index)
        }
        switch encoding {
        case .protobuf:
            return protobufBody(order, groups, spans, records.bytes)
        case .json:
            return jsonBody(order, groups, spans, json.bytes)
        }
    }

    private func protobufBody(_ order: [UInt32], _ groups: [UInt32: [Int]], _ spans: [(resource: UInt32, start: Int, end: Int)], _ records: UnsafeRawBufferPointer) -> [UInt8] {
        var request = ProtobufWriter(capacity: records.count + 64 * order.count + 1024)
        for resource in order {
            let encoded = resources.encoded(resource)
            request.nested(1) { resourceLogs in
                resourceLogs.nested(1) { $0.append(encoded.protobuf) }
                resourceLogs.nested(2) { scopeLogs in
                    scopeLogs.nested(1) { $0.stringField(1, "sluice") }
                    for index in groups[resource] ?? [] {
                        let span = spans[index]
                        scopeLogs.bytesField(2, UnsafeRawBufferPointer(rebasing: records[span.start..<span.end]))
                    }
                }
            }
        }
        return Array(request.bytes)
    }

    private func jsonBody(_ order: [UInt32], _ groups: [UInt32: [Int]], _ spans: [(resource: UInt32, start: Int, end: Int)], _ records: UnsafeRawBufferPointer) -> [UInt8] {
        var json = ByteWriter(capacity: records.count + 256 * order.count + 1024)
        json.append(#"{"resourceLogs":["#)
        for (position, resource) in order.enumerated() {
            if position > 0 { json.append(UInt8(ascii: ",")) }
            json.append(#"{"resource":{"attributes":"#)
            json.append(resources.encoded(resource).json)
            json.append(#"},"scopeLogs":[{"scope":{"name":"sluice"},"logRecords":["#)
            for (count, index) in (groups[resource] ?? []).enumerated() {
                if count > 0 { json.append(UInt8(ascii: ",")) }
                let span = spans[index]
                json.append(UnsafeRawBufferPointer(rebasing: records[span.start..<span.end]))
            }
            json.append("]}]}")
        }
        json.append("]}")
        return Array(json.bytes)
    }

    public func interpret(status: Int, body: [UInt8], itemCount: Int) -> DeliveryOutcome {
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
