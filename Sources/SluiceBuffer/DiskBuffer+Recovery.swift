import SluiceCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Opening a buffer a previous run left: every segment from the position on is read once and
/// checked, so delivery starts from a buffer known to be sound, and whatever is not sound is
/// stepped over, never stopped at.
///
/// - The position file says where delivery resumes; missing (with segments present) or
///   garbled, delivery starts again from the oldest segment (at least once), counted
///   `position`, the garbled file quarantined.
/// - A segment that cannot be opened, or holds no intact record, is quarantined whole; the
///   records it held are counted lost (`unreadable_segment`, `checksum`), from the sequence
///   numbers around it.
/// - Damage inside a segment is copied to the quarantine and stepped over; the records between
///   the intact ones around it are counted lost (`checksum`).
/// - At the end of the newest segment, bytes that are no intact record are a write a crash cut
///   short: cut off (`torn_tail`).
extension DiskBuffer {
    func recover() throws(BufferError) {
        if let error = BufferFiles.makeDirectories(directory) { throw BufferError("disk buffer of sink \"\(sinkName)\": \(error)") }
        let found = BufferFiles.segments(in: directory)
        let start = startingPosition(found)
        // Segments whose successor starts at or before the position were acknowledged whole.
        var kept: [(firstSequence: UInt64, path: String)] = []
        for (index, entry) in found.enumerated() {
            if index + 1 < found.count, found[index + 1].firstSequence <= start {
                unlink(entry.path)
            } else {
                kept.append(entry)
            }
        }
        for (index, entry) in kept.enumerated() {
            let following = index + 1 < kept.count ? kept[index + 1].firstSequence : nil
            if let segment = open(entry, newest: following == nil, from: start, nextFirst: following) { segments.append(segment) }
        }
        totalBytes = segments.reduce(0) { $0 + $1.size }
        nextSequence = max(start, segments.last.map { $0.lastSequence.map { $0 + 1 } ?? $0.firstSequence } ?? start)
        ledger = AcknowledgementLedger(position: start)
        writtenPosition = start
        syncedPosition = .max  // An earlier run may have written it without a sync.
        cursor = ReadCursor(expectedSequence: start)
        if segments.isEmpty, BufferFiles.readPosition(in: directory) != .sequence(start) {
            _ = BufferFiles.writePosition(start, in: directory, durable: true)
        }
        if waitingEventCount > 0 {
            logger.info("disk buffer holds events from before; delivering them first", metadata: [
                "directory": "\(directory)", "events": "\(waitingEventCount)", "bytes": "\(totalBytes)", "segments": "\(segments.count)",
            ])
        }
    }

    /// Where delivery resumes, from the position file.
    private func startingPosition(_ found: [(firstSequence: UInt64, path: String)]) -> UInt64 {
        let oldest = found.first?.firstSequence ?? 0
        switch BufferFiles.readPosition(in: directory) {
        case .sequence(let sequence):
            return sequence
        case .missing:
            guard !found.isEmpty else { return 0 }
            counts.lost[.position, default: 0] += 1
            logger.error("disk buffer position file is missing; delivering everything it holds again", metadata: ["directory": "\(directory)"])
            return oldest
        case .garbled:
            let quarantined = BufferFiles.quarantine(directory + "/position", in: directory)
            counts.lost[.position, default: 0] += 1
            logger.error("disk buffer position file is damaged; delivering everything it holds again", metadata: [
                "directory": "\(directory)", "quarantined": "\(quarantined)",
            ])
            return oldest
        }
    }

    /// Opens and checks one segment; nil when it is quarantined whole.
    private func open(_ entry: (firstSequence: UInt64, path: String), newest: Bool, from start: UInt64, nextFirst: UInt64?) -> BufferSegment? {
        let descriptor = Glibc.open(entry.path, O_RDWR | O_CLOEXEC)
        var status = stat()
        guard descriptor >= 0, fstat(descriptor, &status) == 0 else {
            let error = errno
            if descriptor >= 0 { Glibc.close(descriptor) }
            quarantineWhole(entry, reason: .unreadableSegment, detail: BufferFiles.describe(error), nextFirst: nextFirst)
            return nil
        }
        let segment = BufferSegment(firstSequence: entry.firstSequence, path: entry.path, descriptor: descriptor, size: Int(status.st_size))
        var reader = SegmentReader(descriptor: descriptor)
        var offset = 0
        var lastBefore: UInt64?
        var damageBefore: Range<Int>?
        scan: while true {
            switch reader.item(at: offset, size: segment.size) {
            case .record(_, let bytes, let summary):
                if let damage = damageBefore {
                    // The records between the intact ones around the damage are lost.
                    let first = lastBefore.map { $0 + 1 } ?? entry.firstSequence
                    counts.lost[.checksum, default: 0] += Int(summary.sequence > first ? summary.sequence - first : 0)
                    segment.damaged.append(damage)
                    damageBefore = nil
                }
                if summary.sequence >= start {
                    segment.unreadEvents += summary.events
                    waitingEventCount += summary.events
                }
                segment.lastSequence = summary.sequence
                lastBefore = summary.sequence
                offset += bytes
            case .damaged(let range, let atEnd):
                if atEnd && newest {
                    CrashPoints.reach(.truncate)
                    _ = ftruncate(descriptor, off_t(range.lowerBound))
                    segment.size = range.lowerBound
                    counts.lost[.tornTail, default: 0] += 1
                    logger.warning("disk buffer ended in a record a crash cut short; cut it off", metadata: [
                        "file": "\(entry.path)", "offset": "\(range.lowerBound)", "bytes": "\(range.count)",
                    ])
                    break scan
                }
                if atEnd && lastBefore == nil && !newest {
                    // Not one intact record (a segment of zeros, say): out of the way whole. The
                    // descriptor is the segment's and closes with it (closing it here too closed
                    // it twice: a file another thread opened in between lost its descriptor).
                    quarantineWhole(entry, reason: .checksum, detail: "no intact record", nextFirst: nextFirst)
                    return nil
                }
                let quarantined = BufferFiles.quarantine(entry.path, range: range, in: directory)
                logDamage(entry.path, range, reason: "a checksum failed", quarantined: quarantined)
                if atEnd {
                    // Nothing intact after it in this segment: what it hid runs to the next one.
                    let first = lastBefore.map { $0 + 1 } ?? entry.firstSequence
                    counts.lost[.checksum, default: 0] += Int((nextFirst ?? first + 1) > first ? (nextFirst ?? first + 1) - first : 0)
                    segment.damaged.append(range)
                    break scan
                }
                damageBefore = range
                offset = range.upperBound
            case .end:
                break scan
            }
        }
        return segment
    }

    /// Moves a segment to the quarantine and counts the records it held (from the sequence
    /// of the segment after it; one when it was the newest).
    private func quarantineWhole(_ entry: (firstSequence: UInt64, path: String), reason: BufferLoss, detail: String, nextFirst: UInt64?) {
        let quarantined = BufferFiles.quarantine(entry.path, in: directory)
        counts.lost[reason, default: 0] += nextFirst.map { $0 > entry.firstSequence ? Int($0 - entry.firstSequence) : 0 } ?? 1
        logger.error("disk buffer segment unusable; moved to the quarantine", metadata: [
            "file": "\(entry.path)", "reason": "\(detail)", "quarantined": "\(quarantined)",
        ])
    }
}
