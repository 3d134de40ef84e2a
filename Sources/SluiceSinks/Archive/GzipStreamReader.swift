import CZlib
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads a file of concatenated gzip members (what the archive sink writes), member by member,
/// and says where it is damaged, if it is.
public struct GzipStreamReader: ~Copyable {
    /// How reading ended.
    public enum Ending: Equatable, Sendable {
        /// Every member was complete and checked (CRC and length).
        case intact
        /// Damage at `offset` (bytes into the compressed file) in member `member` (1-based).
        case damaged(offset: Int, member: Int, reason: String)
    }

    private let stream: UnsafeMutablePointer<z_stream>

    public init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(result == Z_OK, "inflateInit2 failed: \(result)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decompresses `descriptor` to its end. `onData` receives decompressed bytes belonging to
    /// complete members only (a damaged member's bytes are withheld), `onMember` the running
    /// count of complete members. Returns how it ended.
    public mutating func read(
        _ descriptor: Int32,
        onData: (UnsafeRawBufferPointer) -> Void,
        onMember: (Int) -> Void = { _ in }
    ) -> Ending {
        let inputSize = 1 << 20
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inputSize, alignment: 16)
        defer { input.deallocate() }
        var member = ByteWriter(capacity: 1 << 20)
        var consumed = 0  // compressed bytes before the current read buffer
        var memberStart = 0
        var members = 0
        var inMember = false
        inflateReset(stream)
        while true {
            let count = Glibc.read(descriptor, input.baseAddress, inputSize)
            if count < 0 {
                if errno == EINTR { continue }
                return .damaged(offset: consumed, member: members + 1, reason: "read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                return inMember ? .damaged(offset: memberStart, member: members + 1, reason: "truncated: the member has no end") : .intact
            }
            stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(count)
            while stream.pointee.avail_in > 0 {
                if !inMember {
                    memberStart = consumed + count - Int(stream.pointee.avail_in)
                    inMember = true
                }
                let room = 256 * 1024
                let space = member.unwrittenSpace(atLeast: room)
                stream.pointee.next_out = space.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(room)
                let result = inflate(stream, Z_NO_FLUSH)
                member.commit(room - Int(stream.pointee.avail_out))
                switch result {
                case Z_STREAM_END:
                    members += 1
                    onData(member.bytes)
                    onMember(members)
                    member.removeAll()
                    inMember = false
                    inflateReset(stream)
                case Z_OK, Z_BUF_ERROR:
                    continue
                default:
                    let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                    return .damaged(offset: memberStart, member: members + 1, reason: detail)
                }
            }
            consumed += count
        }
    }
}
