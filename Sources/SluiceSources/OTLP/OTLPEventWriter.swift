import FoundationEssentials
import SluiceCore

/// Writes an OTLP log record as a Sluice event (one JSON object): the inverse of the `otlp`
/// sink's mapping, so that `otlp` in → `otlp` out keeps every field.
///
/// | OTLP | event |
/// | --- | --- |
/// | `timeUnixNano` (else `observedTimeUnixNano`) | `@timestamp`, RFC 3339 with nanoseconds |
/// | `severityText` (else the name of `severityNumber`'s range) | `level` |
/// | `body` | `message` (any type: a string, a number, an object...) |
/// | `traceId`, `spanId`, `flags` | `trace_id`, `span_id` (hex), `trace_flags` |
/// | attribute `log.iostream` | `stream` |
/// | other attributes | fields of the same names and JSON types (`bytesValue` as base64) |
/// | the resource's attributes | the object `resource` |
/// | the scope's name and version | `otel.scope.name`, `otel.scope.version` |
/// | `eventName` | `event_name` |
enum OTLPEventWriter {
    static func write(
        _ record: OTLPLogRecord, resource: [(key: String, value: OTLPValue)], scope: (name: String, version: String), into json: inout ByteWriter
    ) {
        json.removeAll()
        json.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: String) {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            json.appendJSONString(name)
            json.append(UInt8(ascii: ":"))
        }
        let time = record.timeUnixNano != 0 ? record.timeUnixNano : record.observedTimeUnixNano
        if time != 0 {
            key("@timestamp")
            json.append(UInt8(ascii: "\""))
            appendRFC3339(nanoseconds: time, into: &json)
            json.append(UInt8(ascii: "\""))
        }
        let level = record.severityText.isEmpty ? levelName(record.severityNumber) : record.severityText
        if !level.isEmpty {
            key("level")
            json.appendJSONString(level)
        }
        if let body = record.body {
            key("message")
            write(body, into: &json)
        }
        if !record.traceID.isEmpty {
            key("trace_id")
            appendHex(record.traceID, into: &json)
        }
        if !record.spanID.isEmpty {
            key("span_id")
            appendHex(record.spanID, into: &json)
        }
        if record.flags != 0 {
            key("trace_flags")
            json.append(decimal: Int(record.flags))
        }
        if !record.eventName.isEmpty {
            key("event_name")
            json.appendJSONString(record.eventName)
        }
        for attribute in record.attributes {
            key(attribute.key == "log.iostream" ? "stream" : attribute.key)
            write(attribute.value, into: &json)
        }
        if !scope.name.isEmpty {
            key("otel.scope.name")
            json.appendJSONString(scope.name)
        }
        if !scope.version.isEmpty {
            key("otel.scope.version")
            json.appendJSONString(scope.version)
        }
        if !resource.isEmpty {
            key("resource")
            write(.keyValues(resource), into: &json)
        }
        json.append(UInt8(ascii: "}"))
    }

    static func write(_ value: OTLPValue, into json: inout ByteWriter) {
        switch value {
        case .empty: json.append("null")
        case .string(let text): json.appendJSONString(text)
        case .bool(let flag): json.append(flag ? "true" : "false")
        case .int(let number): json.append(decimal: Int(number))
        case .double(let number):
            // JSON has no NaN or infinities: they are written as strings.
            if number.isFinite { json.append("\(number)") } else { json.appendJSONString("\(number)") }
        case .bytes(let bytes): json.appendJSONString(Data(bytes).base64EncodedString())
        case .array(let elements):
            json.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                write(element, into: &json)
            }
            json.append(UInt8(ascii: "]"))
        case .keyValues(let members):
            json.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.appendJSONString(member.key)
                json.append(UInt8(ascii: ":"))
                write(member.value, into: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
    }

    /// `severityNumber`'s range: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
    /// 21–24 fatal.
    static func levelName(_ number: Int) -> String {
        switch number {
        case 1...4: "trace"
        case 5...8: "debug"
        case 9...12: "info"
        case 13...16: "warn"
        case 17...20: "error"
        case 21...24: "fatal"
        default: ""
        }
    }

    /// A quoted hex string.
    static func appendHex(_ bytes: some Sequence<UInt8>, into json: inout ByteWriter) {
        json.append(UInt8(ascii: "\""))
        json.appendHex(bytes)
        json.append(UInt8(ascii: "\""))
    }

    /// `2026-12-01T10:00:00.123456789Z`, written in place: `EventTimestamp`'s form with the
    /// nanoseconds in place of the milliseconds.
    static func appendRFC3339(nanoseconds: UInt64, into json: inout ByteWriter) {
        let milliseconds = Int64(nanoseconds / 1_000_000)
        EventTimestamp.format(milliseconds, into: json.unwrittenSpace(atLeast: EventTimestamp.textLength))
        json.commit(EventTimestamp.textLength - 4)  // up to the point before the milliseconds
        var fraction = nanoseconds % 1_000_000_000
        let space = json.unwrittenSpace(atLeast: 10)
        for index in stride(from: 8, through: 0, by: -1) {
            space.storeBytes(of: UInt8(ascii: "0") + UInt8(fraction % 10), toByteOffset: index, as: UInt8.self)
            fraction /= 10
        }
        space.storeBytes(of: UInt8(ascii: "Z"), toByteOffset: 9, as: UInt8.self)
        json.commit(10)
    }
}
