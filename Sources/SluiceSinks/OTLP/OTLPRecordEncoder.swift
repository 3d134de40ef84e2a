import SluiceCore

/// Turns one event into an OTLP `LogRecord` (protobuf, or an OTLP/JSON object) and names its
/// resource. One per sink, used on the sink's thread only.
///
/// | event | LogRecord |
/// | --- | --- |
/// | `@timestamp` (the event's own time, else when Sluice read it) | `timeUnixNano` (millisecond precision) |
/// | when the sink encodes it | `observedTimeUnixNano` |
/// | the level Sluice normalised | `severityNumber` (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21) |
/// | `level` as written | `severityText` |
/// | `message`, else `msg`, else `log` | `body` |
/// | `trace_id`, `span_id` (hex), or W3C `traceparent` | `traceId`, `spanId` (and `flags` from `traceparent`) |
/// | `stream` | attribute `log.iostream` |
/// | `host`, `source`, the source's labels | resource attributes (see `OTLPResources`) |
/// | every other field | an attribute, its JSON type kept |
final class OTLPRecordEncoder {
    enum Encoding: String, Sendable, CaseIterable {
        case protobuf, json
    }

    let encoding: Encoding
    private let resources: OTLPResources
    /// Label names by source name.
    private let labels: [String: Set<String>]
    private var scanner = JSONObjectScanner()
    private(set) var record = ProtobufWriter(capacity: 4096)
    private(set) var json = ByteWriter(capacity: 4096)
    private var resourceKey: [UInt8] = []

    init(encoding: Encoding, resources: OTLPResources, labels: [String: Set<String>]) {
        self.encoding = encoding
        self.resources = resources
        self.labels = labels
    }

    /// Encodes `event`; the record is then in `record` (protobuf) or `json`.
    func encode(_ event: EventRecord, sourceName: String, observedNanoseconds: UInt64) -> UInt32 {
        let text = event.json
        let scanned = scanner.scan(text)
        let fields = scanned ? scanner.fields : []
        var roles = [Role](repeating: .attribute, count: fields.count)
        var bodyIndex: Int?
        var bodyRank = Int.max
        var levelIndex: Int?
        var traceID: [UInt8]?
        var spanID: [UInt8]?
        var traceFlags: UInt32?
        let sourceLabels = labels[sourceName] ?? []
        resourceKey.removeAll(keepingCapacity: true)
        resourceKey.append(contentsOf: sourceName.utf8)
        var resourceFields: [(key: String, index: Int)] = []
        for (index, field) in fields.enumerated() {
            let key = UnsafeRawBufferPointer(rebasing: text[Int(field.keyStart)..<Int(field.keyEnd)])
            let value = UnsafeRawBufferPointer(rebasing: text[Int(field.valueStart)..<Int(field.valueEnd)])
            if key.elementsEqual("@timestamp".utf8) {
                roles[index] = .skipped
            } else if let rank = Self.bodyRank(key), rank < bodyRank {
                if let previous = bodyIndex { roles[previous] = .attribute }
                bodyIndex = index
                bodyRank = rank
                roles[index] = .skipped
            } else if key.elementsEqual("level".utf8) && field.kind == .string {
                levelIndex = index
                roles[index] = .skipped
            } else if key.elementsEqual("trace_id".utf8), let id = OTLPMapping.hexBytes(value, byteCount: 16) {
                traceID = id
                roles[index] = .skipped
            } else if key.elementsEqual("span_id".utf8), let id = OTLPMapping.hexBytes(value, byteCount: 8) {
                spanID = id
                roles[index] = .skipped
            } else if key.elementsEqual("traceparent".utf8), let parent = Self.traceparent(value) {
                traceID = traceID ?? parent.trace
                spanID = spanID ?? parent.span
                traceFlags = parent.flags
                roles[index] = .skipped
            } else if key.elementsEqual("stream".utf8) {
                roles[index] = .renamed("log.iostream")
            } else if let name = Self.resourceName(key, labels: sourceLabels) {
                roles[index] = .skipped
                resourceFields.append((name, index))
                resourceKey.append(0)
                resourceKey.append(contentsOf: name.utf8)
                resourceKey.append(0)
                resourceKey.append(contentsOf: value)
            }
        }
        let resource = resources.number(forKey: resourceKey) {
            var attributes = resourceFields.map { entry -> (key: String, value: [UInt8]) in
                let field = fields[entry.index]
                return (entry.key, Array(text[Int(field.valueStart)..<Int(field.valueEnd)]))
            }
            // OpenTelemetry wants a service.name: the configured one, the `service` label, or
            // the source's name.
            if !resources.configured.contains(where: { $0.key == "service.name" }) && !attributes.contains(where: { $0.key == "service.name" }) {
                attributes.append(("service.name", OTLPMapping.jsonString(sourceName)))
            }
            return attributes
        }
        let parts = Parts(
            text: text, fields: fields, roles: roles, body: bodyIndex, level: levelIndex, traceID: traceID, spanID: spanID, flags: traceFlags,
            scanned: scanned
        )
        switch encoding {
        case .protobuf: encodeProtobuf(event, parts, observedNanoseconds: observedNanoseconds)
        case .json: encodeJSON(event, parts, observedNanoseconds: observedNanoseconds)
        }
        return resource
    }

    private enum Role {
        case attribute
        case renamed(StaticString)
        case skipped
    }

    private struct Parts {
        let text: UnsafeRawBufferPointer
        let fields: [JSONObjectScanner.Field]
        let roles: [Role]
        let body: Int?
        let level: Int?
        let traceID: [UInt8]?
        let spanID: [UInt8]?
        let flags: UInt32?
        let scanned: Bool

        func key(_ index: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: text[Int(fields[index].keyStart)..<Int(fields[index].keyEnd)])
        }

        func value(_ index: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: text[Int(fields[index].valueStart)..<Int(fields[index].valueEnd)])
        }
    }

    private func encodeProtobuf(_ event: EventRecord, _ parts: Parts, observedNanoseconds: UInt64) {
        record.removeAll()
        record.fixed64Field(1, UInt64(max(0, event.timestampMilliseconds)) &* 1_000_000)
        if event.level != .unknown { record.varintField(2, OTLPMapping.severityNumber(event.level)) }
        if let level = parts.level {
            OTLPMapping.writeDecoded(parts.value(level), field: 3, into: &record)
        } else if event.level != .unknown {
            record.stringField(3, event.level.name)
        }
        if let body = parts.body {
            record.nested(5) { OTLPMapping.writeAnyValue(parts.value(body), into: &$0) }
        } else if !parts.scanned {
            // Not an object (Sluice's events always are): the whole text is the body.
            record.nested(5) { $0.bytesField(1, parts.text) }
        }
        for (index, role) in parts.roles.enumerated() {
            let value = parts.value(index)
            switch role {
            case .skipped:
                continue
            case .attribute:
                record.nested(6) { keyValue in
                    OTLPMapping.writeDecodedKey(parts.key(index), into: &keyValue)
                    keyValue.nested(2) { OTLPMapping.writeAnyValue(value, into: &$0) }
                }
            case .renamed(let name):
                record.nested(6) { keyValue in
                    keyValue.stringField(1, name)
                    keyValue.nested(2) { OTLPMapping.writeAnyValue(value, into: &$0) }
                }
            }
        }
        if let flags = parts.flags { record.fixed32Field(8, flags) }
        parts.traceID?.withUnsafeBytes { record.bytesField(9, $0) }
        parts.spanID?.withUnsafeBytes { record.bytesField(10, $0) }
        record.fixed64Field(11, observedNanoseconds)
    }

    private func encodeJSON(_ event: EventRecord, _ parts: Parts, observedNanoseconds: UInt64) {
        json.removeAll()
        json.append(#"{"timeUnixNano":""#)
        json.append(decimal: Int(max(0, event.timestampMilliseconds)) * 1_000_000)
        json.append(#"","observedTimeUnixNano":""#)
        json.append(decimal: Int(observedNanoseconds))
        json.append(UInt8(ascii: "\""))
        if event.level != .unknown {
            json.append(#","severityNumber":"#)
            json.append(decimal: Int(OTLPMapping.severityNumber(event.level)))
        }
        if let level = parts.level {
            json.append(#","severityText":"#)
            json.append(parts.value(level))
        } else if event.level != .unknown {
            json.append(#","severityText":""#)
            json.append(event.level.name)
            json.append(UInt8(ascii: "\""))
        }
        if let body = parts.body {
            json.append(#","body":"#)
            OTLPMapping.writeAnyValueJSON(parts.value(body), into: &json)
        } else if !parts.scanned {
            json.append(#","body":{"stringValue":"#)
            json.appendJSONString(parts.text)
            json.append(UInt8(ascii: "}"))
        }
        var first = true
        for (index, role) in parts.roles.enumerated() {
            let name: UnsafeRawBufferPointer
            switch role {
            case .skipped: continue
            case .attribute: name = parts.key(index)
            case .renamed(let renamed): name = UnsafeRawBufferPointer(start: renamed.utf8Start, count: renamed.utf8CodeUnitCount)
            }
            json.append(first ? #","attributes":[{"key":""# : #",{"key":""#)
            first = false
            json.append(name)
            json.append(#"","value":"#)
            OTLPMapping.writeAnyValueJSON(parts.value(index), into: &json)
            json.append(UInt8(ascii: "}"))
        }
        if !first { json.append(UInt8(ascii: "]")) }
        if let flags = parts.flags {
            json.append(#","flags":"#)
            json.append(decimal: Int(flags))
        }
        if let trace = parts.traceID {
            json.append(#","traceId":""#)
            OTLPMapping.appendHex(trace, to: &json)
            json.append(UInt8(ascii: "\""))
        }
        if let span = parts.spanID {
            json.append(#","spanId":""#)
            OTLPMapping.appendHex(span, to: &json)
            json.append(UInt8(ascii: "\""))
        }
        json.append(UInt8(ascii: "}"))
    }

    /// `message` 0, `msg` 1, `log` 2: the keys apps write their message under, best first.
    private static func bodyRank(_ key: UnsafeRawBufferPointer) -> Int? {
        if key.elementsEqual("message".utf8) { return 0 }
        if key.elementsEqual("msg".utf8) { return 1 }
        if key.elementsEqual("log".utf8) { return 2 }
        return nil
    }

    /// The resource attribute an event field belongs under, if it is one.
    private static func resourceName(_ key: UnsafeRawBufferPointer, labels: Set<String>) -> String? {
        if key.elementsEqual("host".utf8) { return "host.name" }
        if key.elementsEqual("source".utf8) { return "sluice.source" }
        guard !labels.isEmpty else { return nil }
        let name = String(decoding: key, as: UTF8.self)
        return labels.contains(name) ? OTLPMapping.resourceName(forLabel: name) : nil
    }

    /// `00-<32 hex>-<16 hex>-<2 hex>`.
    private static func traceparent(_ value: UnsafeRawBufferPointer) -> (trace: [UInt8], span: [UInt8], flags: UInt32)? {
        guard value.count == 57, value.first == UInt8(ascii: "\"") else { return nil }
        let text = UnsafeRawBufferPointer(rebasing: value[1..<56])
        guard text[2] == UInt8(ascii: "-"), text[35] == UInt8(ascii: "-"), text[52] == UInt8(ascii: "-"),
              let trace = OTLPMapping.hexBytes(digits: UnsafeRawBufferPointer(rebasing: text[3..<35]), byteCount: 16),
              let span = OTLPMapping.hexBytes(digits: UnsafeRawBufferPointer(rebasing: text[36..<52]), byteCount: 8)
        else { return nil }
        let flags = OTLPMapping.hexBytes(digits: UnsafeRawBufferPointer(rebasing: text[53..<55]), byteCount: 1)?.first ?? 0
        return (trace, span, UInt32(flags))
    }
}
