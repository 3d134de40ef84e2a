public import SluiceCore

/// A sink's `buffer` when its `type` is `disk`.
public struct DiskBufferSettings: Sendable, Equatable {
    /// When a record counts as buffered.
    public enum Sync: String, Sendable, CaseIterable {
        /// After `fdatasync` of the record (and of the directory for a new segment): survives
        /// a power cut.
        case always
        /// Synced every `sync_interval`: a power cut may lose the last interval.
        case interval
        /// Left to the kernel.
        case never
    }

    /// On disk at most (segments), honoured within one segment.
    public var maxBytes: Int
    public var sync: Sync
    public var syncIntervalNanoseconds: UInt64
    /// The sink's `when_full`, applied to the buffer.
    public var whenFull: WhenFull

    public init(maxBytes: Int = 1 << 30, sync: Sync = .interval, syncIntervalNanoseconds: UInt64 = 1_000_000_000, whenFull: WhenFull = .block) {
        self.maxBytes = maxBytes
        self.sync = sync
        self.syncIntervalNanoseconds = syncIntervalNanoseconds
        self.whenFull = whenFull
    }

    /// A sixteenth of `maxBytes`, between 1 MiB and 64 MiB: space frees a segment at a time,
    /// and a full buffer is never more than one segment from its cap.
    public var segmentBytes: Int { min(64 << 20, max(1 << 20, maxBytes / 16)) }
}

/// Why records were lost from a disk buffer (`sluice_buffer_records_lost_total{reason}`).
public enum BufferLoss: String, Sendable, CaseIterable {
    /// A record's checksum (or framing) failed; its bytes are in the quarantine.
    case checksum
    /// The end of the newest segment was a record a crash cut short; it was cut off.
    case tornTail = "torn_tail"
    /// A segment could not be read at all; it is in the quarantine.
    case unreadableSegment = "unreadable_segment"
    /// The position file was missing or garbled: everything from the oldest segment on is
    /// delivered again (at least once; the indexer's ids keep that from duplicating).
    case position
}
