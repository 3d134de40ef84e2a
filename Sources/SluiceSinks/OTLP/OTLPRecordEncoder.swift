import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns one event into an OTLP `LogRecord` (protobuf, or an OTLP/JSON object) and names its
/// resource. A value each delivery worker makes for the request it builds.
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
public struct OTLPRecordEncoder: ~Copyable {
    public enum Encoding: String, Sendable, CaseIterable {
        case protobuf, json
    }

    let encoding: Encoding
    private let resources: OTLPResources
    /// Label names by source name, as bytes and as resource attribute names.
    private let labels: [String: [(raw: [UInt8], attribute: String)]]
    private var fields: [Field] = []
    private var roles: [Role] = []
    private var resourceKey: [UInt8] = []
    /// Resource attributes the event names: the members of its `resource` object first (they
    /// win), then what `host`, `source` and the labels say. `key` nil: the name is the raw key
    /// at `keyStart..<keyEnd`.
    private var resourceFields: [(key: String?, keyStart: Int, keyEnd: Int, valueStart: Int, valueEnd: Int)] = []
    private var derivedFields: [(key: String?, keyStart: Int, keyEnd: Int, valueStart: Int, valueEnd: Int)] = []
    /// The last resource named, to skip the table for a run of events from one place.
    private var lastResource: (key: [UInt8], number: UInt32)?

    init(encoding: Encoding, resources: OTLPResources, labels: [String: Set<String>]) {
        self.encoding = encoding
        self.resources = resources
        self.labels = labels.mapValues { names in names.sorted().map { (Array($0.utf8), OTLPMapping.resourceName(forLabel: $0)) } }
    }

    /// Appends `event` as a record, in protobuf (a `LogRecord` message, without its field tag)
    /// to `protobuf`, or as an OTLP/JSON object to `json`; returns its resource's number.
    mutating func encode(
        _ event: EventRecord, sourceName: String, observedNanoseconds: UInt64, protobuf: inout ProtobufWriter, json: inout ByteWriter
    ) -> UInt32 {
        let text = event.json
        // Sluice's events are valid JSON objects: their fields are found without validating.
        let scanned = text.first == UInt8(ascii: "{")
        fields.removeAll(keepingCapacity: true)
        if scanned, let base = text.baseAddress {
            JSONValueReader.members(of: text) { key, value in
                fields.append(Field(
                    keyStart: key.baseAddress! - base, keyEnd: key.baseAddress! - base + key.count,
                    valueStart: value.baseAddress! - base, valueEnd: value.baseAddress! - base + value.count,
                    kind: JSONValueReader.kind(of: value)
                ))
            }
        }
        roles.removeAll(keepingCapacity: true)
        roles.append(contentsOf: repeatElement(Role.attribute, count: fields.count))
        var bodyIndex: Int?
        var bodyRank = Int.max
        var levelIndex: Int?
        var traceID: [UInt8]?
        var spanID: [UInt8]?
        var traceFlags: UInt32?
        let sourceLabels = labels[sourceName] ?? []
        resourceKey.removeAll(keepingCapacity: true)
        resourceKey.append(contentsOf: sourceName.utf8)
        resourceFields.removeAll(keepingCapacity: true)
        derivedFields.removeAll(keepingCapacity: true)
        for (index, field) in fields.enumerated() {
            let key = UnsafeRawBufferPointer(rebasing: text[Int(field.keyStart)..<Int(field.keyEnd)])
            let value = UnsafeRawBufferPointer(rebasing: text[Int(field.valueStart)..<Int(field.valueEnd)])
            if key.equals("@timestamp") {
                roles[index] = .skipped
            } else if let rank = Self.bodyRank(key), rank < bodyRank {
                if let previous = bodyIndex { roles[previous] = .attribute }
                bodyIndex = index
                bodyRank = rank
                roles[index] = .skipped
            } else if key.equals("level") && field.kind == .string {
                levelIndex = index
                roles[index] = .skipped
            } else if key.equals("trace_id"), let id = OTLPMapping.hexBytes(value, byteCount: 16) {
                traceID = id
                roles[index] = .skipped
            } else if key.equals("span_id"), let id = OTLPMapping.hexBytes(value, byteCount: 8) {
                spanID = id
                roles[index] = .skipped
            } else if key.equals("traceparent"), let parent = Self.traceparent(value) {
                traceID = traceID ?? parent.trace
                spanID = spanID ?? parent.span
                traceFlags = parent.flags
                roles[index] = .skipped
            } else if key.equals("trace_flags"), field.kind == .number, let flags = OTLPMapping.integer(value), (0...Int64(UInt32.max)).contains(flags) {
                traceFlags = UInt32(flags)
                roles[index] = .skipped
            } else if key.equals("stream") {
                roles[index] = .renamed("log.iostream")
            } else if key.equals("resource"), field.kind == .object, let base = text.baseAddress {
                // What an `otlp` source received: the record's own resource.
                roles[index] = .skipped
                resourceKey.append(1)
                resourceKey.append(contentsOf: value)
                JSONValueReader.members(of: value) { member, memberValue in
                    resourceFields.append((
                        nil, member.baseAddress! - base, member.baseAddress! - base + member.count,
                        memberValue.baseAddress! - base, memberValue.baseAddress! - base + memberValue.count
                    ))
                }
            } else if let name = Self.resourceName(key, labels: sourceLabels) {
                roles[index] = .skipped
                derivedFields.append((name, 0, 0, field.valueStart, field.valueEnd))
                resourceKey.append(0)
                resourceKey.append(contentsOf: name.utf8)
                resourceKey.append(0)
                resourceKey.append(contentsOf: value)
            }
        }
        let resource: UInt32
        if let last = lastResource, last.key == resourceKey {
            resource = last.number
        } else {
            resource = resourceNumber(fields: fields, text: text, sourceName: sourceName)
            lastResource = (resourceKey, resource)
        }
        let parts = Parts(
            text: text, fields: fields, roles: roles, body: bodyIndex, level: levelIndex, traceID: traceID, spanID: spanID, flags: traceFlags,
            scanned: scanned
        )
        switch encoding {
        case .protobuf: Self.encodeProtobuf(event, parts, observedNanoseconds: observedNanoseconds, into: &protobuf)
        case .json: Self.encodeJSON(event, parts, observedNanoseconds: observedNanoseconds, into: &json)
        }
        return resource
    }

    private func resourceNumber(fields: [Field], text: UnsafeRawBufferPointer, sourceName: String) -> UInt32 {
        let named = resourceFields + derivedFields
        let resources = resources
        return resources.number(forKey: resourceKey) {
            var attributes = named.map { entry -> (key: String, value: [UInt8]) in
                let key = entry.key ?? String(decoding: text[entry.keyStart..<entry.keyEnd], as: UTF8.self)
                return (key, Array(text[entry.valueStart..<entry.valueEnd]))
            }
            // OpenTelemetry wants a service.name: the configured one, the `service` label, or
            // the source's name.
            if !resources.configured.contains(where: { $0.key == "service.name" }) && !attributes.contains(where: { $0.key == "service.name" }) {
                attributes.append(("service.name", OTLPMapping.jsonString(sourceName)))
            }
            return attributes
        }
    }

    /// A top-level field: where its key (without quotes) and its value are in the event.
    private struct Field {
        var keyStart: Int
        var keyEnd: Int
        var valueStart: Int
        var valueEnd: Int
        var kind: JSONValueReader.Kind
    }

    private enum Role {
        case attribute
        case renamed(StaticString)
        case skipped
    }

    private struct Parts {
        let text: UnsafeRawBufferPointer
        let fields: [Field]
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

    private static func encodeProtobuf(_ event: EventRecord, _ parts: Parts, observedNanoseconds: UInt64, into record: inout ProtobufWriter) {
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

    private static func encodeJSON(_ event: EventRecord, _ parts: Parts, observedNanoseconds: UInt64, into json: inout ByteWriter) {
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
            json.appendHex(trace)
            json.append(UInt8(ascii: "\""))
        }
        if let span = parts.spanID {
            json.append(#","spanId":""#)
            json.appendHex(span)
            json.append(UInt8(ascii: "\""))
        }
        json.append(UInt8(ascii: "}"))
    }

    /// `message` 0, `msg` 1, `log` 2: the keys apps write their message under, best first.
    private static func bodyRank(_ key: UnsafeRawBufferPointer) -> Int? {
        if key.equals("message") { return 0 }
        if key.equals("msg") { return 1 }
        if key.equals("log") { return 2 }
        return nil
    }

    /// The resource attribute an event field belongs under, if it is one.
    private static func resourceName(_ key: UnsafeRawBufferPointer, labels: [(raw: [UInt8], attribute: String)]) -> String? {
        if key.equals("host") { return "host.name" }
        if key.equals("source") { return "sluice.source" }
        for label in labels where label.raw.count == key.count && label.raw.withUnsafeBytes({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) {
            return label.attribute
        }
        return nil
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

extension UnsafeRawBufferPointer {
    /// Whether these bytes are `text`'s.
    @inline(__always)
    func equals(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && memcmp(baseAddress!, text.utf8Start, count) == 0
    }
}
