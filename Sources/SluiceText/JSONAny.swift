import FoundationEssentials

/// JSON documents as `[String: Any]` trees, for the control-plane messages Sluice reads and
/// writes whole (JetStream API calls, bulk responses, OTLP/JSON requests, the admin API): objects
/// are `[String: Any]`, arrays `[Any]`, integers `Int` (`Double` past `Int`'s range), other
/// numbers `Double`, and null `JSONNull`. What Foundation's `JSONSerialization` gave, without
/// Foundation's full build, which links ICU's data table (34 MB) into the binary. Events never
/// take this path: they have their own scanner and encoder.
public enum JSONAny {
    /// The document in `bytes`; nil when it is not JSON.
    public static func parse(_ bytes: some Collection<UInt8>) -> Any? {
        (try? JSONDecoder().decode(AnyDecodable.self, from: Data(bytes)))?.value
    }

    /// The document in `bytes` when it is a JSON object.
    public static func object(_ bytes: some Collection<UInt8>) -> [String: Any]? {
        parse(bytes) as? [String: Any]
    }

    /// `value` as compact JSON with object keys sorted (stable bytes for equal values).
    /// Values of other types than the ones `parse` gives (and `Int64`, `UInt64`) are written as
    /// their description, quoted.
    public static func serialize(_ value: Any) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output)
        return output
    }

    private static func write(_ value: Any, to output: inout [UInt8]) {
        switch value {
        case let object as [String: Any]:
            output.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(object[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case let array as [Any]:
            output.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case let text as String: writeString(text, to: &output)
        case let flag as Bool: output.append(contentsOf: (flag ? "true" : "false").utf8)
        case let number as Int: output.append(contentsOf: String(number).utf8)
        case let number as Int64: output.append(contentsOf: String(number).utf8)
        case let number as UInt64: output.append(contentsOf: String(number).utf8)
        case let number as Double where number.isFinite: output.append(contentsOf: "\(number)".utf8)
        case is JSONNull: output.append(contentsOf: "null".utf8)
        default: writeString("\(value)", to: &output)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case 0x0A: output.append(contentsOf: "\\n".utf8)
            case 0x0D: output.append(contentsOf: "\\r".utf8)
            case 0x09: output.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// JSON's null in a `JSONAny` tree.
public struct JSONNull: Sendable, Equatable {
    public init() {}
}

/// Any JSON value, decoded into the types `JSONAny` promises.
private struct AnyDecodable: Decodable {
    let value: Any

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = JSONNull()
        } else if let flag = try? container.decode(Bool.self) {
            value = flag
        } else if let number = try? container.decode(Int.self) {
            value = number
        } else if let number = try? container.decode(Double.self) {
            value = number
        } else if let text = try? container.decode(String.self) {
            value = text
        } else if let array = try? container.decode([AnyDecodable].self) {
            value = array.map(\.value)
        } else {
            value = try container.decode([String: AnyDecodable].self).mapValues(\.value) as [String: Any]
        }
    }
}
