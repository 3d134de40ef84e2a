import CZlib
public import SluiceCore

/// Compresses a chunk of bytes into one complete gzip member (header, deflate data, CRC and
/// length), with zlib. Members can be concatenated: `gzip -dc` reads them as one stream.
///
/// The `z_stream` is allocated once and never moves (zlib keeps a pointer back to it), and is
/// reset, not re-created, for each member.
public struct GzipMemberCompressor: ~Copyable {
    private let stream: UnsafeMutablePointer<z_stream>
    public let level: Int32

    /// - Parameter level: 1 (fastest) to 9 (smallest).
    public init(level: Int32) {
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 + 16: gzip wrapper; memLevel 8 is zlib's default.
        let result = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(result == Z_OK, "deflateInit2 failed: \(result)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Appends one gzip member holding `input` to `output`.
    public mutating func compressMember(_ input: UnsafeRawBufferPointer, into output: inout ByteWriter) {
        deflateReset(stream)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        while true {
            let room = Int(deflateBound(stream, uLong(stream.pointee.avail_in))) + 64
            let space = output.unwrittenSpace(atLeast: room)
            stream.pointee.next_out = space.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let result = deflate(stream, Z_FINISH)
            output.commit(room - Int(stream.pointee.avail_out))
            if result == Z_STREAM_END { return }
            precondition(result == Z_OK || result == Z_BUF_ERROR, "deflate failed: \(result)")
        }
    }
}
