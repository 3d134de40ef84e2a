import SluiceCore
/// Steps over JSON text Sluice has already validated (events are valid objects), by index into
/// the bytes: whitespace and values through the scanners' `Cursor`, strings here (the redaction
/// walk needs to know whether one has escapes).
enum JSONWalk {
    @inline(__always)
    static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        withCursor(bytes, &index) { $0.skipWhitespace() }
    }

    /// From the opening quote at `index` to just past the closing one; whether it has escapes.
    @inline(__always)
    static func skipString(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        var escaped = false
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 2
            } else {
                index += 1
            }
        }
        return escaped
    }

    /// From the value's first byte at `index` to just past its end.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        withCursor(bytes, &index) { JSONLookup.skipValidValue(&$0) }
    }

    /// Runs `body` on the scanners' cursor at `index`, and takes its position back.
    @inline(__always)
    private static func withCursor(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, _ body: (inout Cursor) -> Void) {
        guard let base = bytes.baseAddress, index < bytes.count else { return }
        var cursor = Cursor(base: base.assumingMemoryBound(to: UInt8.self), end: bytes.count, index: index)
        body(&cursor)
        index = cursor.index
    }

    /// At an object member (after `{` or `,`): the key's range (between its quotes), with
    /// `index` moved to the member's value; nil at the object's end.
    @inline(__always)
    static func memberKey(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Range<Int>? {
        skipWhitespace(bytes, &index)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let keyStart = index + 1
        _ = skipString(bytes, &index)
        let keyEnd = index - 1
        skipWhitespace(bytes, &index)
        index += 1  // the colon
        skipWhitespace(bytes, &index)
        return keyStart..<keyEnd
    }
}
