import SluiceCore
import SluiceSync

/// The OpenTelemetry resources a sink's events belong to, each encoded once (as the body of a
/// protobuf `Resource` and as OTLP/JSON attributes) and known by a small number that the
/// request items carry. Shared by the sink's thread, which adds, and its delivery workers,
/// which read.
///
/// A resource is the sink's configured `resource` attributes plus what the event says of where
/// it comes from: `host` → `host.name`, `source` → `sluice.source`, and the source's labels under
/// their semantic-convention names (`OTLPMapping.resourceName(forLabel:)`); `service.name` is the
/// configured one, else the `service` label, else the source's name. Configured attributes win.
final class OTLPResources: Sendable {
    struct Encoded: Sendable {
        /// `Resource` message contents (field 1: the attributes).
        let protobuf: [UInt8]
        /// The JSON array of attributes (`[{"key":...,"value":{...}}, ...]`).
        let json: [UInt8]
    }

    private struct State {
        var numbers: [[UInt8]: UInt32] = [:]
        var encoded: [Encoded] = []
    }

    /// The configured attributes, in order.
    let configured: [(key: String, value: String)]
    private let state = Locked(State())

    init(configured: [(key: String, value: String)]) {
        self.configured = configured
    }

    /// The number of the resource `key` names (the raw values it derives from), encoding it with
    /// `attributes` the first time.
    func number(forKey key: [UInt8], attributes: () -> [(key: String, value: [UInt8])]) -> UInt32 {
        if let known = state.withLock({ $0.numbers[key] }) { return known }
        let encoded = encode(attributes())
        return state.withLock { state in
            if let known = state.numbers[key] { return known }
            let number = UInt32(state.encoded.count)
            state.encoded.append(encoded)
            state.numbers[key] = number
            return number
        }
    }

    func encoded(_ number: UInt32) -> Encoded {
        state.withLock { $0.encoded[Int(number)] }
    }

    /// `fromEvent`: attribute names and their raw JSON values.
    private func encode(_ fromEvent: [(key: String, value: [UInt8])]) -> Encoded {
        var attributes: [(key: String, json: [UInt8])] = configured.map { ($0.key, OTLPMapping.jsonString($0.value)) }
        let configuredNames = Set(configured.map(\.key))
        for attribute in fromEvent where !configuredNames.contains(attribute.key) && !attributes.contains(where: { $0.key == attribute.key }) {
            attributes.append((attribute.key, attribute.value))
        }
        var protobuf = ProtobufWriter(capacity: 256)
        var json = ByteWriter(capacity: 256)
        json.append(UInt8(ascii: "["))
        for (index, attribute) in attributes.enumerated() {
            attribute.json.withUnsafeBytes { value in
                protobuf.nested(1) { keyValue in
                    keyValue.stringField(1, attribute.key)
                    keyValue.nested(2) { OTLPMapping.writeAnyValue(value, into: &$0) }
                }
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.append(#"{"key":"#)
                json.append(OTLPMapping.jsonString(attribute.key))
                json.append(#","value":"#)
                OTLPMapping.writeAnyValueJSON(value, into: &json)
                json.append(UInt8(ascii: "}"))
            }
        }
        json.append(UInt8(ascii: "]"))
        return Encoded(protobuf: Array(protobuf.bytes), json: Array(json.bytes))
    }
}
