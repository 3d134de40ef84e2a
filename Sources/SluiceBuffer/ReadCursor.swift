/// Where a disk buffer's reader is: the segment (an index into the buffer's segments) and
/// offset of the next record, the sequence it expects there, and whether damage was stepped
/// over since the last record read (the records in the gap are then lost). A value, kept under
/// the buffer's lock and tested alone; the reading itself happens outside the lock.
struct ReadCursor {
    private(set) var segment = 0
    private(set) var offset = 0
    /// The sequence the reader expects next (a gap after damage counts lost records).
    private(set) var expectedSequence: UInt64
    /// Damage was stepped over since the last record: why what is skipped is lost.
    private(set) var lossReason: BufferLoss?

    init(expectedSequence: UInt64 = 0) {
        self.expectedSequence = expectedSequence
    }

    /// Where the next record is, stepping over read segments and known damage; nil when there
    /// is nothing to read yet.
    mutating func nextPlace(in segments: [BufferSegment]) -> (segment: BufferSegment, offset: Int, size: Int)? {
        while segment < segments.count {
            let current = segments[segment]
            if let damage = current.damaged.first(where: { $0.contains(offset) }) {
                offset = damage.upperBound  // found and counted when the buffer opened
                continue
            }
            if offset < current.size { return (current, offset, current.size) }
            guard segment + 1 < segments.count else { return nil }
            segment += 1
            offset = 0
        }
        return nil
    }

    /// Whether the cursor is still at `offset` of `place` (no eviction or other reader moved it
    /// while a record was read outside the lock).
    func isAt(_ place: BufferSegment, offset: Int, in segments: [BufferSegment]) -> Bool {
        segments.indices.contains(segment) && segments[segment] === place && self.offset == offset
    }

    /// Moves past a record read intact (`bytes` long, `sequence`). Returns whether it is to be
    /// handed out (false: acknowledged before the last stop, the position being inside its
    /// segment), and the records a gap after damage lost, with why.
    mutating func pass(sequence: UInt64, bytes: Int) -> (handOut: Bool, lost: (BufferLoss, Int)?) {
        offset += bytes
        if sequence < expectedSequence && lossReason == nil { return (false, nil) }
        var lost: (BufferLoss, Int)?
        if let reason = lossReason, sequence > expectedSequence { lost = (reason, Int(sequence - expectedSequence)) }
        lossReason = nil
        expectedSequence = sequence + 1
        return (true, lost)
    }

    /// Moves past damage found while reading: what it hid is counted at the next record.
    mutating func stepOver(damage range: Range<Int>) {
        offset = range.upperBound
        lossReason = .checksum
    }

    /// Whether the record just passed is the last there is for now.
    func isAtEnd(of segments: [BufferSegment]) -> Bool {
        segment >= segments.count || segment == segments.count - 1 && offset >= segments[segment].size
    }

    /// The sequence of the next record to read (nil past the last segment).
    func nextUnreadSequence(in segments: [BufferSegment]) -> UInt64? {
        guard segment < segments.count else { return nil }
        return max(expectedSequence, segments[segment].firstSequence)
    }

    /// The oldest segment was deleted; `next` is the one now first, if any. An evicted segment
    /// may be the one being read: the reader then starts at the next.
    mutating func firstSegmentRemoved(evicted: Bool, next: BufferSegment?) {
        if segment > 0 {
            segment -= 1
        } else {
            offset = 0
        }
        if evicted, let next { expectedSequence = max(expectedSequence, next.firstSequence) }
    }

    /// Every segment was deleted (everything acknowledged).
    mutating func allSegmentsRemoved() {
        segment = 0
        offset = 0
    }
}
