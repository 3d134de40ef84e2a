import FoundationEssentials
public import SluiceCore

#if canImport(Glibc)
import Glibc
import SluiceText
#endif

/// The Elasticsearch / OpenSearch bulk API: `create` actions with an id per event, into an
/// index named from a template and the event's own time, or into a data stream.
///
/// The `_id` is the event's identity (`EventOrigin`): its stream as 16 hex digits, `-`, its
/// sequence in the stream (`3f9a1c0e5b7d2a41-1042`). Every event Sluice accepts has its own, even
/// when its bytes equal another's, and keeps it on every retry, so a retry never indexes an event
/// twice and two identical lines are two documents.
///
/// A 200 response with `errors: true` is read item by item: 429 and 5xx items are retried alone;
/// a 409 (the id exists already) is counted as `already_present`, apart from deliveries, since
/// an earlier attempt of Sluice's whose answer was lost and a document someone else wrote are
/// indistinguishable; other item errors (mapping and parse errors, 400; a missing index, 404) are
/// dead-lettered with their reason.
public final class BulkFormat: DeliveryFormat, @unchecked Sendable {
    // @unchecked: the index-name cache is only used by the sink's thread (append).
    public enum Target: Sendable, Equatable {
        /// strftime fields (UTC, from the event's `@timestamp`) and `{source}`; lower-cased.
        case index(String)
        /// A data stream (`create` only; events always carry `@timestamp`).
        case dataStream(String)
    }

    public let target: Target
    public var path: String { "/_bulk" }
    public var contentType: String { "application/x-ndjson" }
    /// Rendered index names, per source, for the time bucket they were rendered for.
    private var indexCache: [String: (bucket: Int64, action: [UInt8])] = [:]
    private let bucketMilliseconds: Int64

    public init(target: Target) {
        self.target = target
        if case .index(let template) = target {
            bucketMilliseconds = Self.granularity(of: template)
        } else {
            bucketMilliseconds = .max
        }
    }

    /// `{"create":{"_index":"NAME","_id":"ID"}}`, a newline, the event and a newline, written
    /// straight into the request (nothing allocated per event).
    public func append(_ record: EventRecord, sourceName: String, to batch: RequestBatch) {
        let action = actionPrefix(sourceName: sourceName, timestamp: record.timestampMilliseconds)
        batch.append(event: record.json, suffix: "\n") { bytes in
            bytes.append(action)
            Self.appendID(stream: record.stream, sequence: record.sequence, to: &bytes)
            bytes.append("\"}}\n")
        }
    }

    /// `<stream as 16 hex digits>-<sequence>`.
    static func appendID(stream: UInt64, sequence: UInt64, to bytes: inout ByteWriter) {
        withUnsafeBytes(of: stream.bigEndian) { bytes.appendHex($0) }
        bytes.append(UInt8(ascii: "-"))
        bytes.append(decimal: Int(truncatingIfNeeded: sequence))
    }

    /// `{"create":{"_index":"NAME","_id":"` for the event's source and time.
    private func actionPrefix(sourceName: String, timestamp: Int64) -> [UInt8] {
        let bucket = bucketMilliseconds == .max ? 0 : timestamp.floorDivided(by: bucketMilliseconds).quotient
        if let cached = indexCache[sourceName], cached.bucket == bucket { return cached.action }
        let name: String
        switch target {
        case .dataStream(let stream): name = stream.replacing("{source}", with: sourceName)
        case .index(let template): name = Self.render(template, source: sourceName, milliseconds: timestamp).lowercased()
        }
        var writer = ByteWriter(capacity: 64)
        writer.append("{\"create\":{\"_index\":")
        writer.appendJSONString(name)
        writer.append(",\"_id\":\"")
        let action = Array(writer.bytes)
        indexCache[sourceName] = (bucket, action)
        return action
    }

    public var sendsItemsAsWritten: Bool { true }

    public func body(of items: [Int], in batch: RequestBatch) -> [UInt8] {
        concatenated(items, in: batch)
    }

    public func interpret(status: Int, body: [UInt8], itemCount: Int) -> DeliveryOutcome {
        guard status == 200 else { return outcome(ofStatus: status, body: body) }
        // Most responses have no errors: read just that flag.
        let hasErrors = body.withUnsafeBytes { bytes -> Bool in
            let key: StaticString = "errors"
            let range = JSONLookup.value(forKey: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount), inObject: bytes)
            guard let range else { return true }
            return bytes[range.lowerBound] != UInt8(ascii: "f")
        }
        guard hasErrors else { return .accepted }
        guard let object = JSONAny.object(body),
              let items = object["items"] as? [[String: Any]] else {
            return .retryable("the bulk response could not be read")
        }
        return .perItem(items.map(Self.result))
    }

    private static func result(_ item: [String: Any]) -> DeliveryOutcome.ItemResult {
        guard let action = item.values.first as? [String: Any], let status = action["status"] as? Int else {
            return .retry("an item without a status")
        }
        let error = action["error"] as? [String: Any]
        let reason = [error?["type"] as? String, error?["reason"] as? String].compactMap { $0 }.joined(separator: ": ")
        switch status {
        case 200..<300: return .accepted
        case 409: return .alreadyPresent
        case 429, 500..<600: return .retry("item status \(status): \(reason)")
        default: return .rejected(status: status, reason: reason.isEmpty ? "status \(status)" : reason)
        }
    }

    static func render(_ template: String, source: String, milliseconds: Int64) -> String {
        let filled = template.replacing("{source}", with: source.replacing("%", with: "%%"))
        var seconds = time_t(milliseconds.floorDivided(by: 1000).quotient)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 512)
        let length = strftime(&buffer, buffer.count, filled, &parts)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// How long one rendered name lasts: the finest strftime field's unit (a day for dates).
    static func granularity(of template: String) -> Int64 {
        var finest: Int64 = .max
        var iterator = template.makeIterator()
        while let character = iterator.next() {
            guard character == "%", let field = iterator.next() else { continue }
            let unit: Int64
            switch field {
            case "S", "s", "T", "X", "c", "r": unit = 1000
            case "M", "R": unit = 60_000
            case "H", "I", "k", "l", "p": unit = 3_600_000
            case "%": continue
            default: unit = 86_400_000
            }
            finest = min(finest, unit)
        }
        return finest
    }
}
