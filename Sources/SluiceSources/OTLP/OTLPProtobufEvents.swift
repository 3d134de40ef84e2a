import FoundationEssentials
import SluiceCore

/// Turns a protobuf `ExportLogsServiceRequest` into event lines directly, without building
/// values: each record's fields are located once, then written as JSON straight from the
/// request's bytes (the mapping of `OTLPEventWriter`; OTLP/JSON requests go through that one).
/// A resource's attributes and a scope are rendered once for all their records.
struct OTLPProtobufEvents: ~Copyable {
    private var attributes: [UnsafeRawBufferPointer] = []
    private var resource = ByteWriter(capacity: 512)
    private var scope = ByteWriter(capacity: 128)

    /// Appends one line per record to `lines`; returns how many. Past `limits.maxRecords`
    /// records or `limits.maxDecodedBytes` of lines it stops (413), and it stops (503) when the
    /// request cannot `grow` its memory for what the lines take: counted as they are written, so
    /// a small body of many empty records never becomes gigabytes.
    mutating func write(_ body: UnsafeRawBufferPointer, into lines: inout ByteWriter, limits: OTLPLimits, grow: (Int) -> Bool) throws(OTLPDecodingError) -> Int {
        var count = 0
        var reservedFor = 0
        var request = ProtobufReader(body)
        while let field = try Self.next(&request) {
            guard field.number == 1 else { continue }
            var scopes: [UnsafeRawBufferPointer] = []
            resource.removeAll()
            var reader = ProtobufReader(try Self.bytes(field, "resource_logs"))
            while let member = try Self.next(&reader) {
                switch member.number {
                case 1:
                    var members: [UnsafeRawBufferPointer] = []
                    var inner = ProtobufReader(try Self.bytes(member, "resource"))
                    while let attribute = try Self.next(&inner) {
                        if attribute.number == 1 { members.append(try Self.bytes(attribute, "resource attribute")) }
                    }
                    try Self.writeObject(members, depth: 0, into: &resource)
                case 2: scopes.append(try Self.bytes(member, "scope_logs"))
                default: continue
                }
            }
            for scopeLogs in scopes {
                scope.removeAll()
                var records: [UnsafeRawBufferPointer] = []
                var reader = ProtobufReader(scopeLogs)
                while let member = try Self.next(&reader) {
                    switch member.number {
                    case 1:
                        var inner = ProtobufReader(try Self.bytes(member, "scope"))
                        while let part = try Self.next(&inner) {
                            guard part.number == 1 || part.number == 2 else { continue }
                            scope.append(part.number == 1 ? #","otel.scope.name":"# : #","otel.scope.version":"#)
                            try Self.writeString(try Self.bytes(part, "scope"), into: &scope)
                        }
                    case 2:
                        records.append(try Self.bytes(member, "log_records"))
                        guard count + records.count <= limits.maxRecords else {
                            throw .tooLarge("the request holds more than max_records (\(limits.maxRecords)) log records")
                        }
                    default: continue
                    }
                }
                for record in records {
                    try writeRecord(record, into: &lines)
                    lines.append(0x0A)
                    count += 1
                    guard lines.count <= limits.maxDecodedBytes else {
                        throw .tooLarge("the request's events are larger than max_decoded (\(limits.maxDecodedBytes) bytes)")
                    }
                    if lines.count > reservedFor {
                        reservedFor = lines.count + OTLPLimits.reservationStep
                        guard grow(reservedFor) else { throw .overloaded }
                    }
                }
            }
        }
        return count
    }

    private mutating func writeRecord(_ record: UnsafeRawBufferPointer, into json: inout ByteWriter) throws(OTLPDecodingError) {
        var time: UInt64 = 0
        var observed: UInt64 = 0
        var severity = 0
        var severityText: UnsafeRawBufferPointer?
        var body: UnsafeRawBufferPointer?
        var trace: UnsafeRawBufferPointer?
        var span: UnsafeRawBufferPointer?
        var flags: UInt64 = 0
        var eventName: UnsafeRawBufferPointer?
        attributes.removeAll(keepingCapacity: true)
        var reader = ProtobufReader(record)
        while let field = try Self.next(&reader) {
            switch (field.number, field.value) {
            case (1, .fixed(let value)): time = value
            case (11, .fixed(let value)): observed = value
            case (2, .varint(let value)): severity = Int(truncatingIfNeeded: value)
            case (3, .bytes(let value)): severityText = value
            case (5, .bytes(let value)): body = value
            case (6, .bytes(let value)): attributes.append(value)
            case (8, .fixed(let value)): flags = value
            case (9, .bytes(let value)): trace = value
            case (10, .bytes(let value)): span = value
            case (12, .bytes(let value)): eventName = value
            case (1, _), (11, _), (2, _), (3, _), (5, _), (6, _), (8, _), (9, _), (10, _), (12, _):
                throw OTLPDecodingError(description: "log record field \(field.number) has the wrong wire type")
            default: continue
            }
        }
        json.append(UInt8(ascii: "{"))
        var separator = false
        func key(_ name: StaticString) {
            if separator { json.append(UInt8(ascii: ",")) }
            separator = true
            json.append(UInt8(ascii: "\""))
            json.append(name)
            json.append(#"":"#)
        }
        let stamp = time != 0 ? time : observed
        if stamp != 0 {
            key("@timestamp")
            json.append(UInt8(ascii: "\""))
            OTLPEventWriter.appendRFC3339(nanoseconds: stamp, into: &json)
            json.append(UInt8(ascii: "\""))
        }
        if let severityText, !severityText.isEmpty {
            key("level")
            try Self.writeString(severityText, into: &json)
        } else if case let name = OTLPEventWriter.levelName(severity), !name.isEmpty {
            key("level")
            json.appendJSONString(name)
        }
        if let body {
            key("message")
            try Self.writeAnyValue(body, depth: 0, into: &json)
        }
        if let trace, !trace.isEmpty {
            key("trace_id")
            OTLPEventWriter.appendHex(trace, into: &json)
        }
        if let span, !span.isEmpty {
            key("span_id")
            OTLPEventWriter.appendHex(span, into: &json)
        }
        if flags != 0 {
            key("trace_flags")
            json.append(decimal: Int(truncatingIfNeeded: flags & 0xFFFF_FFFF))
        }
        if let eventName, !eventName.isEmpty {
            key("event_name")
            try Self.writeString(eventName, into: &json)
        }
        for attribute in attributes {
            let (name, value) = try Self.keyValue(attribute)
            if separator { json.append(UInt8(ascii: ",")) }
            separator = true
            if name.elementsEqual("log.iostream".utf8) {
                json.append(#""stream""#)
            } else {
                try Self.writeString(name, into: &json)
            }
            json.append(UInt8(ascii: ":"))
            try Self.writeAnyValue(value, depth: 1, into: &json)
        }
        if scope.count > 0 {
            // The scope's fields were rendered with a comma in front.
            json.append(UnsafeRawBufferPointer(rebasing: scope.bytes[(separator ? 0 : 1)...]))
            separator = true
        }
        if resource.count > 2 {
            key("resource")
            json.append(resource.bytes)
        }
        json.append(UInt8(ascii: "}"))
    }

    // MARK: Values

    private static func writeAnyValue(_ value: UnsafeRawBufferPointer, depth: Int, into json: inout ByteWriter) throws(OTLPDecodingError) {
        guard depth < OTLPRequestDecoder.maxDepth else { throw OTLPDecodingError(description: "values nested deeper than \(OTLPRequestDecoder.maxDepth)") }
        // One of the fields is the value (the last one, should a sender write several).
        var chosen: (number: UInt64, value: ProtobufReader.Value)?
        var reader = ProtobufReader(value)
        while let field = try next(&reader) {
            if (1...7).contains(field.number) { chosen = field }
        }
        guard let chosen else { return json.append("null") }
        switch (chosen.number, chosen.value) {
        case (1, .bytes(let text)): try writeString(text, into: &json)
        case (2, .varint(let flag)): json.append(flag != 0 ? "true" : "false")
        case (3, .varint(let number)): json.append(decimal: Int(Int64(bitPattern: number)))
        case (4, .fixed(let bits)):
            let number = Double(bitPattern: bits)
            if number.isFinite { json.append("\(number)") } else { json.appendJSONString("\(number)") }
        case (5, .bytes(let array)):
            json.append(UInt8(ascii: "["))
            var elements = ProtobufReader(array)
            var first = true
            while let element = try next(&elements) {
                guard element.number == 1 else { continue }
                if !first { json.append(UInt8(ascii: ",")) }
                first = false
                try writeAnyValue(try bytes(element, "array element"), depth: depth + 1, into: &json)
            }
            json.append(UInt8(ascii: "]"))
        case (6, .bytes(let list)):
            var members: [UnsafeRawBufferPointer] = []
            var reader = ProtobufReader(list)
            while let member = try next(&reader) {
                if member.number == 1 { members.append(try bytes(member, "kvlist member")) }
            }
            try writeObject(members, depth: depth + 1, into: &json)
        case (7, .bytes(let data)): json.appendJSONString(Data(data).base64EncodedString())
        default: throw OTLPDecodingError(description: "AnyValue field \(chosen.number) has the wrong wire type")
        }
    }

    /// `{"key":value,...}` from encoded `KeyValue`s.
    private static func writeObject(_ members: [UnsafeRawBufferPointer], depth: Int, into json: inout ByteWriter) throws(OTLPDecodingError) {
        json.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            let (name, value) = try keyValue(member)
            try writeString(name, into: &json)
            json.append(UInt8(ascii: ":"))
            try writeAnyValue(value, depth: depth + 1, into: &json)
        }
        json.append(UInt8(ascii: "}"))
    }

    private static func keyValue(_ member: UnsafeRawBufferPointer) throws(OTLPDecodingError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        var name = UnsafeRawBufferPointer(start: nil, count: 0)
        var value = UnsafeRawBufferPointer(start: nil, count: 0)
        var reader = ProtobufReader(member)
        while let field = try next(&reader) {
            if field.number == 1 { name = try bytes(field, "attribute key") }
            if field.number == 2 { value = try bytes(field, "attribute value") }
        }
        return (name, value)
    }

    /// A protobuf string as a JSON string; text that is not UTF-8 is refused.
    private static func writeString(_ text: UnsafeRawBufferPointer, into json: inout ByteWriter) throws(OTLPDecodingError) {
        guard UTF8Repair.isValid(text) else { throw OTLPDecodingError(description: "a string is not valid UTF-8") }
        json.appendJSONString(text)
    }

    private static func next(_ reader: inout ProtobufReader) throws(OTLPDecodingError) -> (number: UInt64, value: ProtobufReader.Value)? {
        if reader.isAtEnd { return nil }
        guard let field = reader.next() else { throw OTLPDecodingError(description: "malformed protobuf (truncated, or a bad length or wire type)") }
        return field
    }

    private static func bytes(_ field: (number: UInt64, value: ProtobufReader.Value), _ name: String) throws(OTLPDecodingError) -> UnsafeRawBufferPointer {
        guard case .bytes(let bytes) = field.value else { throw OTLPDecodingError(description: "\(name) has the wrong wire type") }
        return bytes
    }
}
