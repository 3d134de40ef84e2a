import FoundationEssentials
import SluiceCore
import SluiceText

/// An OpenTelemetry `AnyValue`.
enum OTLPValue {
    case empty
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes([UInt8])
    case array([OTLPValue])
    case keyValues([(key: String, value: OTLPValue)])
}

/// One log record of a request, with its resource's and scope's attributes.
struct OTLPLogRecord {
    var timeUnixNano: UInt64 = 0
    var observedTimeUnixNano: UInt64 = 0
    var severityNumber: Int = 0
    var severityText = ""
    var body: OTLPValue?
    var attributes: [(key: String, value: OTLPValue)] = []
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    var flags: UInt32 = 0
    var eventName = ""
}

/// Why a request body could not be read, and the answer that says so: 400 for what is not a
/// request, 413 for one past a limit (`max_records`, `max_decoded`), 503 when the process-wide
/// request memory is spent.
struct OTLPDecodingError: Error, CustomStringConvertible {
    let description: String
    var status = 400

    static func tooLarge(_ description: String) -> OTLPDecodingError {
        OTLPDecodingError(description: description, status: 413)
    }

    static let overloaded = OTLPDecodingError(description: "Sluice's request memory (limits.request_memory) is in use; retry", status: 503)
}

/// Reads an OTLP/JSON `ExportLogsServiceRequest` into records handed one by one (with their
/// resource's attributes and scope) to `visit`; values nested deeper than `maxDepth` are
/// refused. (Protobuf requests are written as events directly: `OTLPProtobufEvents`.)
enum OTLPRequestDecoder {
    static let maxDepth = 64

    typealias Visit = (_ resource: [(key: String, value: OTLPValue)], _ scope: (name: String, version: String), _ record: OTLPLogRecord) -> Void

    // MARK: OTLP/JSON

    static func decodeJSON(_ body: UnsafeRawBufferPointer, _ visit: Visit) throws(OTLPDecodingError) {
        guard let document = JSONAny.parse(body) else { throw OTLPDecodingError(description: "the body is not JSON") }
        guard let request = document as? [String: Any] else { throw OTLPDecodingError(description: "the body is not a JSON object") }
        for resourceLogs in request["resourceLogs"] as? [[String: Any]] ?? [] {
            let resource = try attributes((resourceLogs["resource"] as? [String: Any])?["attributes"], depth: 0)
            for scopeLogs in resourceLogs["scopeLogs"] as? [[String: Any]] ?? [] {
                let scopeObject = scopeLogs["scope"] as? [String: Any] ?? [:]
                let scope = (name: scopeObject["name"] as? String ?? "", version: scopeObject["version"] as? String ?? "")
                for object in scopeLogs["logRecords"] as? [[String: Any]] ?? [] {
                    var record = OTLPLogRecord()
                    record.timeUnixNano = unsigned(object["timeUnixNano"])
                    record.observedTimeUnixNano = unsigned(object["observedTimeUnixNano"])
                    record.severityNumber = Int(unsigned(object["severityNumber"]))
                    record.severityText = object["severityText"] as? String ?? ""
                    if let body = object["body"] { record.body = try jsonValue(body, depth: 0) }
                    record.attributes = try attributes(object["attributes"], depth: 0)
                    record.traceID = hex(object["traceId"])
                    record.spanID = hex(object["spanId"])
                    record.flags = UInt32(truncatingIfNeeded: unsigned(object["flags"]))
                    record.eventName = object["eventName"] as? String ?? ""
                    visit(resource, scope, record)
                }
            }
        }
    }

    private static func attributes(_ list: Any?, depth: Int) throws(OTLPDecodingError) -> [(key: String, value: OTLPValue)] {
        var result: [(key: String, value: OTLPValue)] = []
        for member in list as? [[String: Any]] ?? [] {
            guard let key = member["key"] as? String else { continue }
            result.append((key, try member["value"].map { value throws(OTLPDecodingError) in try jsonValue(value, depth: depth + 1) } ?? .empty))
        }
        return result
    }

    private static func jsonValue(_ any: Any, depth: Int) throws(OTLPDecodingError) -> OTLPValue {
        guard depth < maxDepth else { throw OTLPDecodingError(description: "values nested deeper than \(maxDepth)") }
        guard let object = any as? [String: Any] else { throw OTLPDecodingError(description: "an AnyValue is not a JSON object") }
        if let text = object["stringValue"] as? String { return .string(text) }
        if let flag = object["boolValue"] as? Bool { return .bool(flag) }
        if let number = object["intValue"] { return .int(Int64(exactly: unsignedOrSigned(number)) ?? 0) }
        if let number = object["doubleValue"].flatMap(double) { return .double(number) }
        if let text = object["bytesValue"] as? String { return .bytes(Array(Data(base64Encoded: text) ?? Data())) }
        if let array = (object["arrayValue"] as? [String: Any])?["values"] as? [Any] {
            var elements: [OTLPValue] = []
            for element in array { elements.append(try jsonValue(element, depth: depth + 1)) }
            return .array(elements)
        }
        if let list = object["kvlistValue"] as? [String: Any] { return .keyValues(try attributes(list["values"], depth: depth + 1)) }
        return .empty
    }

    private static func unsigned(_ any: Any?) -> UInt64 {
        if let text = any as? String { return UInt64(text) ?? 0 }
        if let number = any as? Int { return UInt64(exactly: number) ?? 0 }
        return (any as? Double).flatMap { UInt64(exactly: $0.rounded(.towardZero)) } ?? 0
    }

    private static func unsignedOrSigned(_ any: Any) -> Int64 {
        if let text = any as? String { return Int64(text) ?? 0 }
        if let number = any as? Int { return Int64(number) }
        return (any as? Double).flatMap { Int64(exactly: $0.rounded(.towardZero)) } ?? 0
    }

    /// A JSON number as a double; OTLP/JSON writes whole doubles as integers (`"doubleValue": 2`).
    private static func double(_ any: Any) -> Double? {
        if let number = any as? Double { return number }
        return (any as? Int).map(Double.init)
    }

    private static func hex(_ any: Any?) -> [UInt8] {
        guard let text = any as? String, text.count % 2 == 0 else { return [] }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return [] }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
