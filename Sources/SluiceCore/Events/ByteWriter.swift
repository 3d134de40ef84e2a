#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer for the hot path: raw memory, no bounds checks, no copy-on-write.
///
/// Events are encoded by appending to one of these; sinks write its bytes out as they are.
public struct ByteWriter: ~Copyable {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var count: Int = 0
    public private(set) var capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        base.deallocate()
    }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    public mutating func removeAll() {
        count = 0
    }

    /// Forgets the last `byteCount` bytes written.
    public mutating func removeLast(_ byteCount: Int) {
        count -= min(byteCount, count)
    }

    /// The last byte written, if any.
    public var last: UInt8? {
        count > 0 ? base.load(fromByteOffset: count - 1, as: UInt8.self) : nil
    }

    /// Makes room for `additional` more bytes.
    @inline(__always)
    public mutating func reserve(_ additional: Int) {
        if count + additional > capacity { grow(to: count + additional) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Space for `byteCount` bytes written directly; follow with `commit(_:)`.
    @inline(__always)
    public mutating func unwrittenSpace(atLeast byteCount: Int) -> UnsafeMutableRawPointer {
        reserve(byteCount)
        return base + count
    }

    @inline(__always)
    public mutating func commit(_ written: Int) {
        count += written
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let source = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        let target = base + count
        switch raw.count {
        case 8...16:
            // Two overlapping words: a short name or value costs no call into `memmove`.
            let tail = raw.count - 8
            let head = source.loadUnaligned(as: UInt64.self), last = source.loadUnaligned(fromByteOffset: tail, as: UInt64.self)
            target.storeBytes(of: head, as: UInt64.self)
            target.storeBytes(of: last, toByteOffset: tail, as: UInt64.self)
        case 1..<8:
            for offset in 0..<raw.count { target.storeBytes(of: source.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: offset, as: UInt8.self) }
        default:
            target.copyMemory(from: source, byteCount: raw.count)
        }
        count += raw.count
    }

    @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func append(_ array: [UInt8]) {
        array.withUnsafeBytes { append($0) }
    }

    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Turns every CR and LF written since `offset` into a space.
    public mutating func replaceLineBreaksWithSpaces(from offset: Int) {
        for index in offset..<count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == 0x0A || byte == 0x0D { base.storeBytes(of: 0x20, toByteOffset: index, as: UInt8.self) }
        }
    }

    /// Appends each byte as two lower-case hex digits.
    public mutating func appendHex(_ bytes: some Sequence<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        for byte in bytes {
            append(digits.utf8Start[Int(byte >> 4)])
            append(digits.utf8Start[Int(byte & 0x0F)])
        }
    }

    /// Appends a decimal integer.
    public mutating func append(decimal value: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var magnitude = value.magnitude
        var length = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - length] = UInt8(truncatingIfNeeded: magnitude % 10) + UInt8(ascii: "0")
                magnitude /= 10
                length += 1
            } while magnitude > 0
        }
        if value < 0 { append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { append(UnsafeRawBufferPointer(rebasing: $0[(20 - length)...])) }
    }
}
