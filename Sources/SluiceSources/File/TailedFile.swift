import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// One file being tailed: its identity, how far it is read, the line it is in the middle of,
/// and what its events carry.
///
/// Offsets: `readOffset` is how far the file has been read; `consumedOffset` is the end of the
/// last complete line; the safe offset (`safeOffset`) also stops before any line still held (a
/// container runtime's partial line, an open multiline group). Only the safe offset is ever
/// checkpointed, so what is held is read again after a restart, never lost.
///
/// Identities: a file read line by line in order numbers its events from its start (event
/// `n` of the file), a file whose lines are decoded and joined (`cri`, `docker`, multiline)
/// numbers each by the offset of its first byte. Either way reading a file again after a crash
/// gives its events the identities they had, so an indexer stores them once.
final class TailedFile {
    let key: FileKey
    /// The paths that lead to the file (a symlink and its target, a name it was renamed to).
    var paths: [String] {
        didSet { if let first = paths.first { path = first } }
    }
    /// The first of them, or the last one known once none is left.
    private(set) var path: String
    var descriptor: Int32 = -1
    var fingerprint: FileFingerprint
    /// The identity its events carry (see `EventOrigin`); a new one after a truncation.
    var stream: UInt64
    var readOffset: Int64
    var consumedOffset: Int64
    /// The next event's sequence, for files read in order.
    var nextSequence: UInt64
    let readsLineByLine: Bool
    var framing: StreamFraming
    var decoder: ContainerLogDecoder?
    /// One per stream of a container log (stdout, stderr); one for any other file.
    let held: [HeldStream]
    let metadata: [EncodedStreamMetadata]
    /// Where batches went, by the offset they complete, oldest first.
    var marks: [CheckpointMark] = []
    var committed: CheckpointMark
    var lastPosition: RingPosition?
    /// Set once no path leads to the file any more.
    var gone: Departure?
    /// When the file last grew, or was last opened (monotonic nanoseconds).
    var lastActivity: UInt64
    var isQueued = false
    /// Its descriptor counts against the process's budget (`DescriptorBudget`).
    var holdsDescriptorBudget = false
    /// In the file source's queue of files waiting for a descriptor.
    var isWaitingForDescriptor = false
    /// Resumes from a checkpoint not yet checked against the file's first bytes (it was found
    /// when no descriptor was free): checked when it is opened.
    var checkpointUnverified = false
    /// Found at start under another path (rotated while Sluice was stopped) and read to its end
    /// from its checkpoint; forgotten once what was read is taken (see `FileTailer+Recovery`).
    var isRecovered = false
    /// A decompressed copy of a rotated `.gz` that Sluice made to read it, removed when done.
    var extractedCopy: String?

    enum Departure {
        /// Renamed away: read for `rotate_wait` after its last growth.
        case renamed
        /// Deleted: read to its end.
        case deleted
    }

    struct CheckpointMark {
        var position: RingPosition?
        var offset: Int64
        var sequence: UInt64
    }

    init(
        key: FileKey, path: String, fingerprint: FileFingerprint, stream: UInt64, offset: Int64, sequence: UInt64,
        settings: SourceSettings, containerFormat: ContainerLogFormat?, metadata: [EncodedStreamMetadata], now: UInt64
    ) {
        self.key = key
        paths = [path]
        self.path = path
        self.fingerprint = fingerprint
        self.stream = stream
        readOffset = offset
        consumedOffset = offset
        nextSequence = sequence
        readsLineByLine = containerFormat != nil || settings.multiline != nil
        framing = StreamFraming(
            maxLineBytes: settings.maxLineBytes, readSize: FileTailer.readSize, multiline: nil, initialCapacity: 256
        )
        decoder = containerFormat.map { ContainerLogDecoder(format: $0) }
        held = metadata.indices.map { _ in HeldStream(multiline: settings.multiline) }
        self.metadata = metadata
        committed = CheckpointMark(position: nil, offset: offset, sequence: sequence)
        lastActivity = now
    }

    var isOpen: Bool { descriptor >= 0 }

    /// The offset up to which everything is published: before the first line still held.
    var safeOffset: Int64 {
        var offset = consumedOffset
        for stream in held {
            if let start = stream.partialStart { offset = min(offset, start) }
            if stream.joiner.hasOpenGroup, let start = stream.groupStart { offset = min(offset, start) }
        }
        return offset
    }

    /// The earliest time an open multiline group expires (monotonic nanoseconds).
    var multilineDeadline: UInt64? {
        held.compactMap { $0.joiner.deadline }.min()
    }

    /// Records that everything before `safeOffset` went out in batches up to `lastPosition`.
    func mark() {
        let offset = safeOffset
        guard offset > (marks.last?.offset ?? committed.offset) else { return }
        marks.append(CheckpointMark(position: lastPosition, offset: offset, sequence: nextSequence))
    }

    /// Moves the checkpoint past every mark whose batches the sinks have taken. True when it moved.
    func commitTaken(_ isTaken: (RingPosition) -> Bool) -> Bool {
        var taken = 0
        while taken < marks.count, marks[taken].position.map(isTaken) ?? true { taken += 1 }
        guard taken > 0 else { return false }
        committed = marks[taken - 1]
        marks.removeFirst(taken)
        return true
    }

    /// The file starts over (truncated): read from 0 under a new identity.
    func restart(stream newStream: UInt64) {
        stream = newStream
        readOffset = 0
        consumedOffset = 0
        nextSequence = 0
        fingerprint = .empty
        _ = framing.framer.discardPending()
        for stream in held { stream.reset() }
        // What was read before is gone from the file: nothing to resume there any more.
        marks.removeAll()
        committed = CheckpointMark(position: nil, offset: 0, sequence: 0)
    }

    func closeDescriptor() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }
}

/// What one stream of a file holds between reads: a container runtime's partial line, and the
/// open multiline group, each with the offset and time of its first line.
final class HeldStream {
    var joiner: MultilineJoiner
    var partial = ByteWriter(capacity: 256)
    var partialStart: Int64?
    var partialTime: Int64 = 0
    var groupStart: Int64?
    var groupTime: Int64 = 0

    init(multiline: MultilineSettings?) {
        joiner = MultilineJoiner(settings: multiline)
    }

    func reset() {
        _ = joiner.close()
        partial.removeAll()
        partialStart = nil
        groupStart = nil
    }
}
