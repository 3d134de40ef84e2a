import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// What a disk buffer holds, and whether every record checks out, read without changing
/// anything (`sluice buffer inspect`, run while Sluice is stopped).
public struct DiskBufferInspection: Sendable {
    /// A place that is not sound.
    public struct Damage: Sendable, CustomStringConvertible {
        public let file: String
        public let offset: Int
        public let bytes: Int
        public let reason: String

        public var description: String { "\(file): damaged at byte \(offset) (\(bytes) bytes): \(reason)" }
    }

    public var records = 0
    public var events = 0
    public var bytes = 0
    public var segments = 0
    public var oldestAppendedAtMilliseconds: Int64?
    public var damage: [Damage] = []

    /// Reads every segment of the buffer in `directory` from its position on, checking each
    /// record.
    public init(directory: String) {
        let found = BufferFiles.segments(in: directory)
        var start = found.first?.firstSequence ?? 0
        switch BufferFiles.readPosition(in: directory) {
        case .sequence(let sequence): start = sequence
        case .missing where !found.isEmpty: damage.append(Damage(file: directory + "/position", offset: 0, bytes: 0, reason: "missing"))
        case .garbled: damage.append(Damage(file: directory + "/position", offset: 0, bytes: 16, reason: "garbled"))
        case .missing: break
        }
        for (index, entry) in found.enumerated() {
            if index + 1 < found.count, found[index + 1].firstSequence <= start { continue }
            inspect(entry.path, from: start)
        }
    }

    private mutating func inspect(_ path: String, from start: UInt64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        var status = stat()
        guard descriptor >= 0, fstat(descriptor, &status) == 0 else {
            damage.append(Damage(file: path, offset: 0, bytes: 0, reason: "cannot be read: \(BufferFiles.describe(errno))"))
            if descriptor >= 0 { close(descriptor) }
            return
        }
        defer { close(descriptor) }
        segments += 1
        bytes += Int(status.st_size)
        var reader = SegmentReader(descriptor: descriptor)
        var offset = 0
        while true {
            switch reader.item(at: offset, size: Int(status.st_size)) {
            case .record(_, let length, let summary):
                if summary.sequence >= start {
                    records += 1
                    events += summary.events
                    if oldestAppendedAtMilliseconds == nil { oldestAppendedAtMilliseconds = summary.appendedAtMilliseconds }
                }
                offset += length
            case .damaged(let range, let atEnd):
                let reason = atEnd ? "no intact record from here to the end (a write cut short, or damage)" : "a record's checksum or framing fails"
                damage.append(Damage(file: path, offset: range.lowerBound, bytes: range.count, reason: reason))
                guard !atEnd else { return }
                offset = range.upperBound
            case .end:
                return
            }
        }
    }
}
