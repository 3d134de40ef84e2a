import CDeflate
public import SluiceCore

/// Compresses a chunk of bytes into one complete gzip member (header, deflate data, CRC and
/// length) in one call, with libdeflate. Members can be concatenated: `gzip -dc` reads them as
/// one stream.
///
/// Why libdeflate and not zlib: Sluice always compresses a whole chunk it already holds (a
/// 1 MiB archive member, a request body), which is what libdeflate's one-shot API is for, and
/// on Sluice's JSON output it is about twice as fast as zlib at level 1 and 1.6 times at level
/// 6, with 6 to 11 % fewer bytes (Benchmarks/README.md, "2026-12-01: the core"). zlib stays
/// where a stream is read (`GzipStreamReader`: `archive verify`, `replay`).
///
/// The compressor's state (hash tables sized for its level) is allocated once and reused.
public struct GzipMemberCompressor: ~Copyable {
    private let compressor: OpaquePointer
    public let level: Int32

    /// - Parameter level: 1 (fastest) to 9 (smallest), as gzip's; libdeflate's scale matches.
    public init(level: Int32) {
        self.level = level
        guard let compressor = libdeflate_alloc_compressor(level) else {
            preconditionFailure("libdeflate could not allocate a compressor for level \(level)")
        }
        self.compressor = compressor
    }

    deinit {
        libdeflate_free_compressor(compressor)
    }

    /// Appends one gzip member holding `input` to `output`.
    public mutating func compressMember(_ input: UnsafeRawBufferPointer, into output: inout ByteWriter) {
        let room = libdeflate_gzip_compress_bound(compressor, input.count)
        let space = output.unwrittenSpace(atLeast: room)
        let written = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, space, room)
        // The bound is an upper limit for any input, so the member always fits.
        precondition(written > 0, "libdeflate could not fit \(input.count) bytes into its own bound of \(room)")
        output.commit(written)
    }
}
