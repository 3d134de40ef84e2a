/// Writes Protocol Buffers wire format into memory it owns: varints, fixed-width numbers,
/// length-delimited fields. A nested message is written in place and its length put in front
/// afterwards (`nested`), moving its bytes by the few bytes the length takes. (Its own buffer
/// rather than a `ByteWriter`, so that every write inlines here.)
struct ProtobufWriter: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(64, capacity)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        base.deallocate()
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    mutating func removeAll() {
        count = 0
    }

    @inline(__always)
    private mutating func reserve(_ additional: Int) {
        guard count + additional > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < count + additional { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let source = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        (base + count).copyMemory(from: source, byteCount: raw.count)
        count += raw.count
    }

    mutating func append(_ array: [UInt8]) {
        array.withUnsafeBytes { append($0) }
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        reserve(10)
        var value = value
        while value >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: count, as: UInt8.self)
            value >>= 7
            count += 1
        }
        base.storeBytes(of: UInt8(value), toByteOffset: count, as: UInt8.self)
        count += 1
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
        reserve(8)
        (base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count += 8
    }

    mutating func fixed32Field(_ field: UInt32, _ value: UInt32) {
        tag(field, 5)
        reserve(4)
        (base + count).storeBytes(of: value.littleEndian, as: UInt32.self)
        count += 4
    }

    @inline(__always)
    mutating func bytesField(_ field: UInt32, _ value: UnsafeRawBufferPointer) {
        tag(field, 2)
        varint(UInt64(value.count))
        append(value)
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
        let start = count
        body(&self)
        putLength(from: start)
    }

    /// Puts the length of what was written since `start` in front of it, as a varint.
    @inline(__always)
    mutating func putLength(from start: Int) {
        let length = count - start
        if length < 0x80 {
            // One byte: the common case for attributes and values.
            reserve(1)
            if length > 0 { (base + start + 1).copyMemory(from: base + start, byteCount: length) }
            base.storeBytes(of: UInt8(length), toByteOffset: start, as: UInt8.self)
            count += 1
            return
        }
        var size = 1
        while length >> (7 * size) != 0 { size += 1 }
        reserve(size)
        (base + start + size).copyMemory(from: base + start, byteCount: length)
        var value = length
        for index in 0..<size {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) | (index + 1 < size ? 0x80 : 0), toByteOffset: start + index, as: UInt8.self)
            value >>= 7
        }
        count += size
    }
}
