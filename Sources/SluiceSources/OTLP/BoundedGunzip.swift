import CZlib

/// Decompresses a gzip body, refusing to produce more than `limit` bytes: a gzip bomb costs at
/// most `limit` of memory and is named, never expanded. `grow` is asked before the output
/// grows (with the size it grows to), so a request's memory budget refuses it first.
enum BoundedGunzip {
    enum Failure: Error {
        case tooLarge
        case corrupt(String)
        /// `grow` refused.
        case overloaded
    }

    static func decompress(_ input: UnsafeRawBufferPointer, limit: Int, grow: (Int) -> Bool = { _ in true }) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        let initial = min(max(input.count * 4, 4096), limit + 1)
        guard grow(initial) else { throw .overloaded }
        var output = [UInt8](repeating: 0, count: initial)
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        while true {
            if produced == output.count {
                guard output.count <= limit else { throw .tooLarge }
                let added = min(output.count, limit + 1 - output.count)
                guard grow(output.count + added) else { throw .overloaded }
                output.append(contentsOf: repeatElement(0, count: added))
            }
            let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
                stream.avail_out = UInt32(buffer.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced = buffer.count - Int(stream.avail_out)
                return status
            }
            if produced > limit { throw .tooLarge }
            switch status {
            case Z_STREAM_END:
                output.removeSubrange(produced...)
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw .corrupt("the gzip body is cut short")
            case Z_BUF_ERROR:
                continue
            default:
                throw .corrupt("the gzip body is damaged (zlib \(status))")
            }
        }
    }
}
