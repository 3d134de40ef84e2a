import Foundation
import SluiceCore

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

/// Why a request body could not be read, for the 400 answer.
struct OTLPDecodingError: Error, CustomStringConvertible {
    let description: String
}

/// Reads an `ExportLogsServiceRequest`, in protobuf or OTLP/JSON, into records handed one by
/// one (with their resource's attributes and scope) to `visit`. Protobuf is read with
/// `ProtobufReader`, which never reads outside the body; nesting deeper than `maxDepth` values
/// is refused, and so is text that is not UTF-8.
enum OTLPRequestDecoder {
    static let maxDepth = 64

    typealias Visit = (_ resource: [(key: String, value: OTLPValue)], _ scope: (name: String, version: String), _ record: OTLPLogRecord) -> Void

    // MARK: Protobuf

    static func decodeProtobuf(_ body: UnsafeRawBufferPointer, _ visit: Visit) throws(OTLPDecodingError) {
        var request = ProtobufReader(body)
        while let field = try next(&request) {
            guard field.number == 1 else { continue }
            let resourceLogs = try bytes(field, "resource_logs")
            var resource: [(key: String, value: OTLPValue)] = []
            var scopes: [UnsafeRawBufferPointer] = []
            var reader = ProtobufReader(resourceLogs)
            while let member = try next(&reader) {
                switch member.number {
                case 1:
                    var inner = ProtobufReader(try bytes(member, "resource"))
                    while let attribute = try next(&inner) {
                        guard attribute.number == 1 else { continue }
                        resource.append(try keyValue(try bytes(attribute, "resource attribute"), depth: 0))
                    }
                case 2: scopes.append(try bytes(member, "scope_logs"))
                default: continue
                }
            }
            for scopeLogs in scopes {
                var scope = (name: "", version: "")
                var records: [UnsafeRawBufferPointer] = []
                var reader = ProtobufReader(scopeLogs)
                while let member = try next(&reader) {
                    switch member.number {
                    case 1:
                        var inner = ProtobufReader(try bytes(member, "scope"))
                        while let part = try next(&inner) {
                            if part.number == 1 { scope.name = try string(part, "scope name") }
                            if part.number == 2 { scope.version = try string(part, "scope version") }
                        }
                    case 2: records.append(try bytes(member, "log_records"))
                    default: continue
                    }
                }
                for record in records { visit(resource, scope, try logRecord(record)) }
            }
        }
    }

    private static func logRecord(_ body: UnsafeRawBufferPointer) throws(OTLPDecodingError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        var reader = ProtobufReader(body)
        while let field = try next(&reader) {
            switch (field.number, field.value) {
            case (1, .fixed(let nanoseconds)): record.timeUnixNano = nanoseconds
            case (11, .fixed(let nanoseconds)): record.observedTimeUnixNano = nanoseconds
            case (2, .varint(let number)): record.severityNumber = Int(truncatingIfNeeded: number)
            case (3, _): record.severityText = try string(field, "severity_text")
            case (5, _): record.body = try anyValue(try bytes(field, "body"), depth: 0)
            case (6, _): record.attributes.append(try keyValue(try bytes(field, "attribute"), depth: 0))
            case (8, .fixed(let flags)): record.flags = UInt32(truncatingIfNeeded: flags)
            case (9, _): record.traceID = Array(try bytes(field, "trace_id"))
            case (10, _): record.spanID = Array(try bytes(field, "span_id"))
            case (12, _): record.eventName = try string(field, "event_name")
            default: continue
            }
        }
        return record
    }

    private static func keyValue(_ body: UnsafeRawBufferPointer, depth: Int) throws(OTLPDecodingError) -> (key: String, value: OTLPValue) {
        var key = ""
        var value = OTLPValue.empty
        var reader = ProtobufReader(body)
        while let field = try next(&reader) {
            if field.number == 1 { key = try string(field, "attribute key") }
            if field.number == 2 { value = try anyValue(try bytes(field, "attribute value"), depth: depth + 1) }
        }
        return (key, value)
    }

    private static func anyValue(_ body: UnsafeRawBufferPointer, depth: Int) throws(OTLPDecodingError) -> OTLPValue {
        guard depth < maxDepth else { throw OTLPDecodingError(description: "values nested deeper than \(maxDepth)") }
        var value = OTLPValue.empty
        var reader = ProtobufReader(body)
        while let field = try next(&reader) {
            switch (field.number, field.value) {
            case (1, _): value = .string(try string(field, "string_value"))
            case (2, .varint(let flag)): value = .bool(flag != 0)
            case (3, .varint(let number)): value = .int(Int64(bitPattern: number))
            case (4, .fixed(let bits)): value = .double(Double(bitPattern: bits))
            case (5, _):
                var elements: [OTLPValue] = []
                var inner = ProtobufReader(try bytes(field, "array_value"))
                while let element = try next(&inner) {
                    guard element.number == 1 else { continue }
                    elements.append(try anyValue(try bytes(element, "array element"), depth: depth + 1))
                }
                value = .array(elements)
            case (6, _):
                var members: [(key: String, value: OTLPValue)] = []
                var inner = ProtobufReader(try bytes(field, "kvlist_value"))
                while let member = try next(&inner) {
                    guard member.number == 1 else { continue }
                    members.append(try keyValue(try bytes(member, "kvlist member"), depth: depth + 1))
                }
                value = .keyValues(members)
            case (7, _): value = .bytes(Array(try bytes(field, "bytes_value")))
            default: throw OTLPDecodingError(description: "AnyValue field \(field.number) has the wrong wire type")
            }
        }
        return value
    }

    /// The next field; a malformed one (cut short, a bad varint, an unknown wire type) is an error.
    private static func next(_ reader: inout ProtobufReader) throws(OTLPDecodingError) -> (number: UInt64, value: ProtobufReader.Value)? {
        if reader.isAtEnd { return nil }
        guard let field = reader.next() else { throw OTLPDecodingError(description: "malformed protobuf (truncated, or a bad length or wire type)") }
        return field
    }

    private static func bytes(_ field: (number: UInt64, value: ProtobufReader.Value), _ name: String) throws(OTLPDecodingError) -> UnsafeRawBufferPointer {
        guard case .bytes(let bytes) = field.value else { throw OTLPDecodingError(description: "\(name) has the wrong wire type") }
        return bytes
    }

    private static func string(_ field: (number: UInt64, value: ProtobufReader.Value), _ name: String) throws(OTLPDecodingError) -> String {
        guard let text = String(validating: try bytes(field, name), as: UTF8.self) else {
            throw OTLPDecodingError(description: "\(name) is not valid UTF-8")
        }
        return text
    }

    // MARK: OTLP/JSON

    static func decodeJSON(_ body: UnsafeRawBufferPointer, _ visit: Visit) throws(OTLPDecodingError) {
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw OTLPDecodingError(description: "the body is not JSON")
        }
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
        if let number = object["doubleValue"] as? NSNumber { return .double(number.doubleValue) }
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
        return (any as? NSNumber)?.uint64Value ?? 0
    }

    private static func unsignedOrSigned(_ any: Any) -> Int64 {
        if let text = any as? String { return Int64(text) ?? 0 }
        return (any as? NSNumber)?.int64Value ?? 0
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
