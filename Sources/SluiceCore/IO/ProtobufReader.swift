/// Reads Protocol Buffers wire format field by field; stops (nil) at the end or at anything
/// malformed: a varint longer than ten bytes, a length past the end, an unknown wire type, field
/// number 0 (which no message has: a body of zeros is not a message). Never reads outside
/// `bytes`, whatever they hold.
public struct ProtobufReader {
    public enum Value {
        case varint(UInt64)
        case bytes(UnsafeRawBufferPointer)
        case fixed(UInt64)
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Whether every field has been read.
    public var isAtEnd: Bool { index >= bytes.count }

    public mutating func next() -> (number: UInt64, value: Value)? {
        guard index < bytes.count, let key = varint(), key >> 3 != 0 else { return nil }
        switch key & 7 {
        case 0:
            return varint().map { (key >> 3, .varint($0)) }
        case 1, 5:
            let width = key & 7 == 1 ? 8 : 4
            guard index + width <= bytes.count else { return nil }
            var value: UInt64 = 0
            for offset in (0..<width).reversed() { value = value << 8 | UInt64(bytes[index + offset]) }
            index += width
            return (key >> 3, .fixed(value))
        case 2:
            guard let length = varint(), length <= UInt64(bytes.count - index) else { return nil }
            let value = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + Int(length))])
            index += Int(length)
            return (key >> 3, .bytes(value))
        default:
            return nil
        }
    }

    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
