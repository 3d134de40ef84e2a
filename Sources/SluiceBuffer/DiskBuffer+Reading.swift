import Logging
import SluiceSync
public import SluiceCore

/// Reading: the sink's thread takes records in order (records given back first), each read and
/// checked outside the lock (`SegmentReader`), its place kept in the `ReadCursor`, and handed
/// out into the `AcknowledgementLedger`.
extension DiskBuffer {
    /// Makes the calling thread the reader from now on: an earlier reader's next `next` says
    /// `handedOver` (a reload replaced the sink). Returns the reader's generation.
    public func takeReading() -> Int {
        lock.withLock {
            readerGeneration += 1
            lock.broadcast()
            return readerGeneration
        }
    }

    /// The next record, waiting for one until the monotonic deadline.
    public func next(reader generation: Int, deadlineNanoseconds: UInt64?) -> ReadOutcome {
        enum Found {
            case place(BufferSegment, offset: Int, size: Int)
            case givenBack(UInt64, HandedOut, BufferSegment)
            case outcome(ReadOutcome)
        }
        while true {
            let found = lock.withLock { () -> Found in
                while true {
                    guard generation == readerGeneration else { return .outcome(.handedOver) }
                    if let (sequence, record, segment) = firstGivenBack() { return .givenBack(sequence, record, segment) }
                    if let (segment, offset, size) = cursor.nextPlace(in: segments) { return .place(segment, offset: offset, size: size) }
                    if appendingEnded { return .outcome(.drained) }
                    guard lock.wait(deadlineNanoseconds: deadlineNanoseconds) else { return .outcome(.timedOut) }
                }
            }
            switch found {
            case .outcome(let outcome):
                return outcome
            case .place(let segment, let offset, let size):
                if let outcome = read(segment, at: offset, size: size, generation: generation) { return outcome }
            case .givenBack(let sequence, let record, let segment):
                if let outcome = readAgain(sequence, record, in: segment, generation: generation) { return outcome }
            }
        }
    }

    /// Reads the record at `offset` (outside the lock) and hands it out; nil to look again
    /// (damage was stepped over, or the reader changed).
    private func read(_ segment: BufferSegment, at offset: Int, size: Int, generation: Int) -> ReadOutcome? {
        reader.descriptor = segment.descriptor
        switch reader.item(at: offset, size: size) {
        case .record(_, let bytes, let summary):
            let batch = BufferRecord.decode(payload: reader.lastPayload)
            return lock.withLock { () -> ReadOutcome? in
                guard generation == readerGeneration, cursor.isAt(segment, offset: offset, in: segments) else { return nil }
                let passed = cursor.pass(sequence: summary.sequence, bytes: bytes)
                // Not handed out: acknowledged before the last stop (the position is within this segment).
                guard passed.handOut else { return nil }
                if let (reason, lost) = passed.lost { counts.lost[reason, default: 0] += lost }
                segment.unreadEvents -= summary.events
                guard let batch else {
                    // Intact framing, contents that do not decode: lost like damage.
                    waitingEventCount -= summary.events
                    counts.lost[.checksum, default: 0] += 1
                    logDamage(segment.path, offset..<(offset + bytes), reason: "its contents do not decode")
                    advancePosition()
                    return nil
                }
                ledger.handOut(summary.sequence, HandedOut(
                    events: summary.events, appendedAt: summary.appendedAtMilliseconds, segmentFirstSequence: segment.firstSequence, offset: offset
                ))
                batch.readAtMilliseconds = summary.appendedAtMilliseconds
                return .record(batch, DeliveryTicket(summary.sequence, readAtMilliseconds: summary.appendedAtMilliseconds), endOfRun: isEndOfRun)
            }
        case .damaged(let range, _):
            let quarantined = BufferFiles.quarantine(segment.path, range: range, in: directory)
            lock.withLock {
                if cursor.isAt(segment, offset: offset, in: segments) { cursor.stepOver(damage: range) }
            }
            logDamage(segment.path, range, reason: "a checksum failed", quarantined: quarantined)
            return nil
        case .end:
            return nil
        }
    }

    /// Under `lock`: whether the record just handed out is the last there is for now.
    private var isEndOfRun: Bool {
        !ledger.hasGivenBack && cursor.isAtEnd(of: segments)
    }

    /// Under `lock`: the first record given back, and its segment (an eviction takes the records
    /// given back with their segment).
    private func firstGivenBack() -> (UInt64, HandedOut, BufferSegment)? {
        guard let (sequence, record) = ledger.firstGivenBack,
              let segment = segments.first(where: { $0.firstSequence == record.segmentFirstSequence }) else { return nil }
        return (sequence, record, segment)
    }

    /// Reads a record given back (outside the lock) and hands it out again; nil to look again.
    private func readAgain(_ sequence: UInt64, _ record: HandedOut, in segment: BufferSegment, generation: Int) -> ReadOutcome? {
        reader.descriptor = segment.descriptor
        let read = reader.item(at: record.offset, size: lock.withLock { segment.size })
        let batch: EventBatch?
        if case .record(_, _, let summary) = read, summary.sequence == sequence {
            batch = BufferRecord.decode(payload: reader.lastPayload)
        } else {
            batch = nil
        }
        return lock.withLock { () -> ReadOutcome? in
            guard generation == readerGeneration, ledger.takeGivenBack(sequence) != nil else { return nil }
            guard let batch else {
                // It read intact before: the file changed under Sluice. Lost like damage.
                waitingEventCount -= record.events
                counts.lost[.checksum, default: 0] += 1
                logDamage(segment.path, record.offset..<(record.offset + 1), reason: "a record given back no longer reads")
                advancePosition()
                return nil
            }
            ledger.handOut(sequence, record)
            batch.readAtMilliseconds = record.appendedAt
            return .record(batch, DeliveryTicket(sequence, readAtMilliseconds: record.appendedAt), endOfRun: isEndOfRun)
        }
    }

    func logDamage(_ path: String, _ range: Range<Int>, reason: String, quarantined: String? = nil) {
        logger.error("disk buffer damaged; stepping over it", metadata: [
            "file": "\(path)", "offset": "\(range.lowerBound)", "bytes": "\(range.count)", "reason": "\(reason)",
            "quarantined": "\(quarantined ?? "-")",
        ])
    }
}
