#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line found by a `LineFramer`: its bytes (no newline, no trailing carriage return) and,
/// for a line longer than the limit, which part of it this is.
public struct FramedLine {
    public let bytes: UnsafeRawBufferPointer
    /// 0 for a whole line; 1, 2, ... for the parts of a line cut at `maxLineBytes`.
    public let part: Int
    /// For a part: whether it is the line's last.
    public let isLastPart: Bool
    /// Several lines joined by a multiline rule: the bytes hold newlines.
    public let isJoined: Bool

    public init(bytes: UnsafeRawBufferPointer, part: Int = 0, isLastPart: Bool = true, isJoined: Bool = false) {
        self.bytes = bytes
        self.part = part
        self.isLastPart = isLastPart
        self.isJoined = isJoined
    }
}

/// How a byte stream is split into messages.
public enum Framing: String, Sendable, CaseIterable {
    /// One message per line.
    case newline
    /// RFC 6587 octet counting (`LEN SP MSG`, as syslog over TCP sends it); a frame that does not
    /// start with a digit falls back to newline framing, as rsyslog does.
    case octetCounting = "octet_counting"
}

/// Splits a byte stream into lines with `memchr` over large reads, without copying complete
/// lines: a line handed out points into the framer's buffer and is valid until the next read.
///
/// A line longer than `maxLineBytes` is cut into parts of at most that size (never inside a
/// UTF-8 sequence), so memory stays bounded by `maxLineBytes` plus one read, whatever arrives.
/// CRLF endings lose their CR; a last line without a newline comes out at `finish()`.
public struct LineFramer: ~Copyable {
    public let maxLineBytes: Int
    public let readSize: Int
    public let framing: Framing
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    /// Where the newline search resumes: bytes before it hold no newline.
    private var scanFrom = 0
    /// Parts already emitted of the line being read.
    private var partsEmitted = 0
    /// Bytes still to come of the current octet-counted frame.
    private var frameRemaining = 0

    /// - Parameter initialCapacity: the buffer's first size (default: two reads). A framer that
    ///   borrows a large buffer for each read (`exchangeBuffer(with:)`) starts small.
    public init(maxLineBytes: Int, readSize: Int = 256 * 1024, framing: Framing = .newline, initialCapacity: Int? = nil) {
        self.maxLineBytes = max(maxLineBytes, 16)
        self.readSize = readSize
        self.framing = framing
        capacity = initialCapacity ?? readSize * 2
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Bytes waiting for the rest of their line.
    public var pendingBytes: Int { end - start }

    /// Space for the next read (at least `readSize` bytes). Complete lines handed out before
    /// are invalid from here on. Follow with `didRead(_:)`.
    public mutating func spaceForRead() -> UnsafeMutableRawBufferPointer {
        if start > 0 {
            let pending = end - start
            if pending > 0 { buffer.copyMemory(from: buffer + start, byteCount: pending) }
            scanFrom -= start
            end = pending
            start = 0
        }
        if capacity - end < readSize {
            let newCapacity = end + readSize
            let newBuffer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            newBuffer.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = newBuffer
            capacity = newCapacity
        }
        return UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end)
    }

    public mutating func didRead(_ byteCount: Int) {
        end += byteCount
    }

    /// Trades buffers with `other`, moving the pending bytes into the one the framer keeps
    /// (`other` grows first if they do not fit). Many streams read by one thread lend one large
    /// buffer to whichever stream is read and keep only their unfinished line between reads.
    /// Lines handed out before are invalid from here on.
    public mutating func exchangeBuffer(with other: inout ReadBuffer) {
        let pending = end - start
        if other.capacity < pending { other.replace(capacity: pending) }
        if pending > 0 { other.pointer.copyMemory(from: buffer + start, byteCount: pending) }
        swap(&buffer, &other.pointer)
        swap(&capacity, &other.capacity)
        scanFrom -= start
        end = pending
        start = 0
    }

    /// Appends bytes that did not come from a read into `spaceForRead()`.
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < raw.count {
            let space = spaceForRead()
            let chunk = min(space.count, raw.count - offset)
            space.baseAddress!.copyMemory(from: raw.baseAddress! + offset, byteCount: chunk)
            didRead(chunk)
            offset += chunk
        }
    }

    /// The next complete line (or part of an over-long one), or nil when more input is needed.
    public mutating func nextLine() -> FramedLine? {
        guard start < end else { return nil }
        if framing == .octetCounting {
            if frameRemaining == 0 && partsEmitted == 0 { readFrameHeader() }
            if frameRemaining > 0 { return nextFramePart() }
            guard start < end else { return nil }
        }
        let searchLength = end - scanFrom
        if let found = memchr(buffer + scanFrom, 0x0A, searchLength) {
            let newline = UnsafeMutableRawPointer(found) - buffer
            if newline - start > maxLineBytes {
                scanFrom = newline
                return cutPart()
            }
            let line = trimmedLine(from: start, to: newline)
            start = newline + 1
            scanFrom = start
            return finishLine(line)
        }
        scanFrom = end
        if end - start > maxLineBytes { return cutPart() }
        return nil
    }

    /// At end of input: the last line if it had no newline (or the incomplete last frame),
    /// then nil.
    public mutating func finish() -> FramedLine? {
        if let line = nextLine() { return line }
        guard start < end else { return nil }
        let line = trimmedLine(from: start, to: end)
        start = end
        scanFrom = end
        frameRemaining = 0
        return finishLine(line)
    }

    /// Drops whatever is buffered (a reader that vanished mid-line); returns the bytes dropped.
    public mutating func discardPending() -> Int {
        let dropped = end - start
        start = 0
        end = 0
        scanFrom = 0
        partsEmitted = 0
        frameRemaining = 0
        return dropped
    }

    private mutating func finishLine(_ bytes: UnsafeRawBufferPointer) -> FramedLine {
        guard partsEmitted > 0 else { return FramedLine(bytes: bytes) }
        let part = partsEmitted + 1
        partsEmitted = 0
        return FramedLine(bytes: bytes, part: part, isLastPart: true)
    }

    /// At a frame boundary: skips stray line ends, then reads `LEN SP` if the frame starts with
    /// a digit. Leaves `frameRemaining` at 0 when more bytes are needed or the frame is not
    /// octet-counted.
    private mutating func readFrameHeader() {
        while start < end, [0x0A, 0x0D].contains(buffer.load(fromByteOffset: start, as: UInt8.self)) { start += 1 }
        scanFrom = max(scanFrom, start)
        var index = start
        var length = 0
        while index < end, index - start < 10 {
            let byte = buffer.load(fromByteOffset: index, as: UInt8.self)
            if byte == 0x20, index > start {
                frameRemaining = length
                start = index + 1
                scanFrom = start
                return
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
            index += 1
        }
    }

    /// The current octet-counted frame, whole or (beyond `maxLineBytes`) in parts.
    private mutating func nextFramePart() -> FramedLine? {
        let available = end - start
        if frameRemaining <= maxLineBytes {
            guard available >= frameRemaining else { return nil }
            let line = trimmedFrame(from: start, to: start + frameRemaining)
            start += frameRemaining
            scanFrom = start
            frameRemaining = 0
            return finishLine(line)
        }
        guard available > maxLineBytes else { return nil }
        let part = cutPart()
        frameRemaining -= part.bytes.count
        return part
    }

    private func trimmedFrame(from frameStart: Int, to frameEnd: Int) -> UnsafeRawBufferPointer {
        var frameEnd = frameEnd
        while frameEnd > frameStart, [0x0A, 0x0D].contains(buffer.load(fromByteOffset: frameEnd - 1, as: UInt8.self)) { frameEnd -= 1 }
        return UnsafeRawBufferPointer(start: buffer + frameStart, count: frameEnd - frameStart)
    }

    private mutating func cutPart() -> FramedLine {
        var cut = start + maxLineBytes
        // Step back over UTF-8 continuation bytes so no character is split.
        var stepped = 0
        while stepped < 3, buffer.load(fromByteOffset: cut, as: UInt8.self) & 0xC0 == 0x80 {
            cut -= 1
            stepped += 1
        }
        if stepped == 3 && buffer.load(fromByteOffset: cut, as: UInt8.self) & 0xC0 == 0x80 {
            cut += 3  // not UTF-8 here anyway: cut at the limit
        }
        let part = UnsafeRawBufferPointer(start: buffer + start, count: cut - start)
        start = cut
        partsEmitted += 1
        return FramedLine(bytes: part, part: partsEmitted, isLastPart: false)
    }

    private func trimmedLine(from lineStart: Int, to lineEnd: Int) -> UnsafeRawBufferPointer {
        var lineEnd = lineEnd
        if lineEnd > lineStart, buffer.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D {
            lineEnd -= 1
        }
        return UnsafeRawBufferPointer(start: buffer + lineStart, count: lineEnd - lineStart)
    }
}

/// A buffer a `LineFramer` takes in exchange for its own (`LineFramer.exchangeBuffer(with:)`).
public struct ReadBuffer: ~Copyable {
    fileprivate var pointer: UnsafeMutableRawPointer
    fileprivate var capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        pointer.deallocate()
    }

    /// A new, larger buffer in place of this one; the contents are not kept.
    fileprivate mutating func replace(capacity newCapacity: Int) {
        pointer.deallocate()
        pointer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        capacity = newCapacity
    }
}
