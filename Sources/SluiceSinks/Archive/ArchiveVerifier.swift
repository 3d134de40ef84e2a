#if canImport(Glibc)
import Glibc
#endif

/// Checks an archive file: decompresses every member (checking its CRC and length), counts
/// members and events, and says where it is damaged.
public enum ArchiveVerifier {
    public struct Result: Sendable, Equatable {
        public let path: String
        /// Complete members read before the end or the damage.
        public let members: Int
        /// Events (lines) in those members.
        public let events: Int
        /// Uncompressed bytes in those members.
        public let bytes: Int
        public let ending: GzipStreamReader.Ending

        public var isIntact: Bool { ending == .intact }

        public var description: String {
            switch ending {
            case .intact:
                return "\(path): ok, \(members) members, \(events) events, \(bytes) bytes"
            case .damaged(let offset, let member, let reason):
                return "\(path): DAMAGED at byte \(offset) (member \(member)): \(reason); \(events) events in the \(members) complete members before it are readable"
            }
        }
    }

    public static func verify(_ path: String) -> Result {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return Result(path: path, members: 0, events: 0, bytes: 0, ending: .damaged(offset: 0, member: 1, reason: "cannot open: \(String(cString: strerror(errno)))"))
        }
        defer { close(descriptor) }
        var reader = GzipStreamReader()
        var events = 0
        var bytes = 0
        var members = 0
        let ending = reader.read(descriptor, onData: { data in
            bytes += data.count
            var index = 0
            while let found = data[index...].firstIndex(of: 0x0A) {
                events += 1
                index = found + 1
            }
        }, onMember: { members = $0 })
        return Result(path: path, members: members, events: events, bytes: bytes, ending: ending)
    }
}
