import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// How an event's JSON values become OpenTelemetry `AnyValue`s, in protobuf and in OTLP/JSON:
/// strings stay strings, integers that fit 64 bits become `intValue` (a string in JSON, as OTLP
/// asks), other numbers `doubleValue`, booleans `boolValue`, `null` an empty value, arrays
/// `arrayValue` and objects `kvlistValue`, to any depth. Also the names and numbers the mapping
/// uses.
enum OTLPMapping {
    /// `severity_number` for a level: TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21;
    /// 0 (unspecified) when unknown.
    static func severityNumber(_ level: EventLevel) -> UInt64 {
        switch level {
        case .unknown: 0
        case .trace: 1
        case .debug: 5
        case .info: 9
        case .warn: 13
        case .error: 17
        case .fatal: 21
        }
    }

    /// A label's name as a resource attribute: the semantic-convention name for the common
    /// ones, the label's own name otherwise.
    static func resourceName(forLabel label: String) -> String {
        switch label {
        case "service": "service.name"
        case "version": "service.version"
        case "env", "environment": "deployment.environment.name"
        case "namespace": "k8s.namespace.name"
        case "pod": "k8s.pod.name"
        case "node": "k8s.node.name"
        case "cluster": "k8s.cluster.name"
        case "container": "container.name"
        default: label
        }
    }

    /// `text` as a JSON string, quotes included.
    static func jsonString(_ text: String) -> [UInt8] {
        var writer = ByteWriter(capacity: text.utf8.count + 16)
        writer.appendJSONString(text)
        return Array(writer.bytes)
    }

    // MARK: Protobuf

    static func writeAnyValue(_ value: UnsafeRawBufferPointer, into writer: inout ProtobufWriter) {
        switch JSONValueReader.kind(of: value) {
        case .string:
            writeDecoded(value, field: 1, into: &writer)
        case .number:
            if let integer = integer(value) {
                writer.varintField(3, UInt64(bitPattern: integer))
            } else {
                writer.fixed64Field(4, double(value).bitPattern)
            }
        case .bool:
            writer.varintField(2, value.first == UInt8(ascii: "t") ? 1 : 0)
        case .null:
            break
        case .array:
            writer.nested(5) { array in
                JSONValueReader.elements(of: value) { element in
                    array.nested(1) { writeAnyValue(element, into: &$0) }
                }
            }
        case .object:
            writer.nested(6) { list in
                JSONValueReader.members(of: value) { key, member in
                    list.nested(1) { keyValue in
                        writeDecodedKey(key, into: &keyValue)
                        keyValue.nested(2) { writeAnyValue(member, into: &$0) }
                    }
                }
            }
        }
    }

    /// A JSON string's text (with quotes) as a string field, escapes resolved.
    static func writeDecoded(_ string: UnsafeRawBufferPointer, field: UInt32, into writer: inout ProtobufWriter) {
        if JSONValueReader.isPlain(string) {
            writer.bytesField(field, UnsafeRawBufferPointer(rebasing: string[1..<(string.count - 1)]))
        } else {
            var decoded: [UInt8] = []
            JSONValueReader.decodedString(string, into: &decoded)
            decoded.withUnsafeBytes { writer.bytesField(field, $0) }
        }
    }

    /// An object key (without its quotes) as field 1 of a `KeyValue`.
    static func writeDecodedKey(_ key: UnsafeRawBufferPointer, into writer: inout ProtobufWriter) {
        guard key.contains(UInt8(ascii: "\\")) else { return writer.bytesField(1, key) }
        var quoted: [UInt8] = [UInt8(ascii: "\"")] + Array(key) + [UInt8(ascii: "\"")]
        var decoded: [UInt8] = []
        quoted.withUnsafeMutableBytes { JSONValueReader.decodedString(UnsafeRawBufferPointer($0), into: &decoded) }
        decoded.withUnsafeBytes { writer.bytesField(1, $0) }
    }

    // MARK: OTLP/JSON

    static func writeAnyValueJSON(_ value: UnsafeRawBufferPointer, into json: inout ByteWriter) {
        switch JSONValueReader.kind(of: value) {
        case .string:
            json.append(#"{"stringValue":"#)
            json.append(value)
        case .number:
            if integer(value) != nil {
                json.append(#"{"intValue":""#)
                json.append(value)
                json.append(UInt8(ascii: "\""))
            } else {
                json.append(#"{"doubleValue":"#)
                json.append(value)
            }
        case .bool:
            json.append(#"{"boolValue":"#)
            json.append(value)
        case .null:
            json.append(UInt8(ascii: "{"))
        case .array:
            json.append(#"{"arrayValue":{"values":["#)
            var first = true
            JSONValueReader.elements(of: value) { element in
                if !first { json.append(UInt8(ascii: ",")) }
                first = false
                writeAnyValueJSON(element, into: &json)
            }
            json.append("]}")
        case .object:
            json.append(#"{"kvlistValue":{"values":["#)
            var first = true
            JSONValueReader.members(of: value) { key, member in
                if !first { json.append(UInt8(ascii: ",")) }
                first = false
                json.append(#"{"key":""#)
                json.append(key)
                json.append(#"","value":"#)
                writeAnyValueJSON(member, into: &json)
                json.append(UInt8(ascii: "}"))
            }
            json.append("]}")
        }
        json.append(UInt8(ascii: "}"))
    }

    // MARK: Numbers and ids

    /// The value of a JSON number written as an integer that fits 64 bits; nil otherwise.
    static func integer(_ number: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let negative = number.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < number.count else { return nil }
        var magnitude: UInt64 = 0
        while index < number.count {
            let digit = number[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A JSON number's value, read with `strtod` from a copy on the stack (no `String` per
    /// number).
    static func double(_ number: UnsafeRawBufferPointer) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: number.count + 1) { text in
            for index in 0..<number.count { text[index] = CChar(bitPattern: number[index]) }
            text[number.count] = 0
            return strtod(text.baseAddress!, nil)
        }
    }

    /// The bytes of a JSON string holding `byteCount * 2` hex digits (a trace or span id); nil
    /// for anything else, or for an all-zero id (invalid in W3C and OTLP).
    static func hexBytes(_ string: UnsafeRawBufferPointer, byteCount: Int) -> [UInt8]? {
        guard string.count == byteCount * 2 + 2, string.first == UInt8(ascii: "\"") else { return nil }
        return hexBytes(digits: UnsafeRawBufferPointer(rebasing: string[1..<(string.count - 1)]), byteCount: byteCount)
    }

    static func hexBytes(digits: UnsafeRawBufferPointer, byteCount: Int) -> [UInt8]? {
        guard digits.count == byteCount * 2 else { return nil }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for index in 0..<byteCount {
            guard let high = hexDigit(digits[index * 2]), let low = hexDigit(digits[index * 2 + 1]) else { return nil }
            bytes[index] = high << 4 | low
        }
        return bytes.contains { $0 != 0 } ? bytes : nil
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
