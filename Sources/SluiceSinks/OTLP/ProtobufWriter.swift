import SluiceCore

/// Writes Protocol Buffers wire format into a `ByteWriter`: varints, fixed-width numbers,
/// length-delimited fields. A nested message is written in place and its length put in front
/// afterwards (`nested`), moving its bytes by the few bytes the length takes.
struct ProtobufWriter: ~Copyable {
    var bytes: ByteWriter

    init(capacity: Int = 4096) {
        bytes = ByteWriter(capacity: capacity)
    }

    mutating func removeAll() {
        bytes.removeAll()
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var value = value
        let space = bytes.unwrittenSpace(atLeast: 10)
        var written = 0
        while value >= 0x80 {
            space.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: written, as: UInt8.self)
            value >>= 7
            written += 1
        }
        space.storeBytes(of: UInt8(value), toByteOffset: written, as: UInt8.self)
        bytes.commit(written + 1)
    }

    @inline(__always)
    mutating func tag(_ field: UInt32, _ wireType: UInt32) {
        varint(UInt64(field << 3 | wireType))
    }

    mutating func varintField(_ field: UInt32, _ value: UInt64) {
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64Field(_ field: UInt32, _ value: UInt64) {
        tag(field, 1)
        let space = bytes.unwrittenSpace(atLeast: 8)
        space.storeBytes(of: value.littleEndian, as: UInt64.self)
        bytes.commit(8)
    }

    mutating func fixed32Field(_ field: UInt32, _ value: UInt32) {
        tag(field, 5)
        let space = bytes.unwrittenSpace(atLeast: 4)
        space.storeBytes(of: value.littleEndian, as: UInt32.self)
        bytes.commit(4)
    }

    mutating func bytesField(_ field: UInt32, _ value: UnsafeRawBufferPointer) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(value)
    }

    mutating func stringField(_ field: UInt32, _ value: String) {
        var value = value
        value.withUTF8 { bytesField(field, UnsafeRawBufferPointer($0)) }
    }

    mutating func stringField(_ field: UInt32, _ value: StaticString) {
        bytesField(field, UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    /// A length-delimited field whose contents `body` writes.
    @inline(__always)
    mutating func nested(_ field: UInt32, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        let start = bytes.count
        body(&self)
        putLength(from: start)
    }

    /// Puts the length of what was written since `start` in front of it, as a varint.
    mutating func putLength(from start: Int) {
        let length = bytes.count - start
        var size = 1
        while length >> (7 * size) != 0 { size += 1 }
        _ = bytes.unwrittenSpace(atLeast: size)
        let base = bytes.base
        (base + start + size).copyMemory(from: base + start, byteCount: length)
        var value = length
        for index in 0..<size {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) | (index + 1 < size ? 0x80 : 0), toByteOffset: start + index, as: UInt8.self)
            value >>= 7
        }
        bytes.commit(size)
    }
}
