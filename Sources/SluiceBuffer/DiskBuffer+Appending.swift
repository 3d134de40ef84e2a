import Logging
import SluiceSync
public import SluiceCore

/// Appending: the sink's ring reader stores each batch as a record (`SegmentWriter` writes it,
/// outside the lock), and `when_full` applies when the buffer is at `max_bytes` or the disk
/// refuses the write.
extension DiskBuffer {
    /// Stores a batch, applying `when_full` when the buffer is at `max_bytes` (or the disk
    /// refuses the write): `block` waits (until the stop), `drop_newest` refuses the batch,
    /// `drop_oldest` evicts the oldest segments. `dropped` is told what was dropped and why.
    public func append(_ batch: EventBatch, shutdown: ShutdownSignal, dropped: (DropReason, Int) -> Void) -> AppendOutcome {
        let settings = self.settings
        appendScratch.removeAll()
        let sequence = lock.withLock { nextSequence }
        BufferRecord.encode(batch, sequence: sequence, appendedAtMilliseconds: EventTimestamp.nowMilliseconds(), into: &appendScratch)
        let recordBytes = appendScratch.count
        var backoff: UInt64 = 50_000_000
        while true {
            switch makeRoom(for: recordBytes, shutdown: shutdown, dropped: dropped) {
            case .dropped:
                dropped(.bufferFull, batch.count)
                return .dropped
            case .stopped:
                return .stopped
            case .stored:
                break
            }
            guard let error = write(appendScratch.bytes, sequence: sequence, events: batch.count, settings: settings) else {
                if lock.withLock({ writeProblemReported }) {
                    lock.withLock { writeProblemReported = false }
                    logger.info("disk buffer writes recovered", metadata: ["directory": "\(directory)"])
                }
                return .stored
            }
            let first = lock.withLock { () -> Bool in
                defer { writeProblemReported = true }
                return !writeProblemReported
            }
            if first {
                logger.error("disk buffer write failed; keeping what it holds", metadata: [
                    "directory": "\(directory)", "error": "\(error)", "when_full": "\(settings.whenFull.rawValue)",
                ])
            }
            switch settings.whenFull {
            case .dropNewest:
                dropped(.bufferFull, batch.count)
                return .dropped
            case .dropOldest:
                // A full disk is a full buffer: the oldest segment makes room, as at max_bytes.
                guard let evicted = lock.withLock({ evictOldestSegment() }) else {
                    dropped(.bufferFull, batch.count)
                    return .dropped
                }
                dropped(.bufferOverrun, evicted)
            case .block:
                guard shutdown.sleep(nanoseconds: backoff) else { return .stopped }
                backoff = min(backoff * 2, 2_000_000_000)
            }
        }
    }

    /// No more appends: the reader drains what is left and then reports `drained`.
    public func finishAppending() {
        lock.withLock {
            appendingEnded = true
            lock.broadcast()
        }
    }

    /// Under `sync: interval`, syncs what was appended (and the position) once the interval has
    /// passed. The appending thread calls it after appends and while idle.
    public func syncIfDue() {
        let settings = self.settings
        guard settings.sync == .interval, writer.isSyncDue(intervalNanoseconds: settings.syncIntervalNanoseconds) else { return }
        syncWritten()
        persistPosition(durable: true)
    }

    /// `fdatasync` of every segment written since the last sync. Appending thread only.
    func syncWritten() {
        let newest = lock.withLock { segments.last }
        writer.syncWritten(newest: newest) { written in lock.withLock { written.filter { !$0.isDeleted } } }
    }

    /// Makes space for a record under the `when_full` policy.
    private func makeRoom(for recordBytes: Int, shutdown: ShutdownSignal, dropped: (DropReason, Int) -> Void) -> AppendOutcome {
        lock.withLock {
            while totalBytes + recordBytes > storedSettings.maxBytes {
                switch storedSettings.whenFull {
                case .dropNewest:
                    return .dropped
                case .dropOldest:
                    guard let evicted = evictOldestSegment() else { return .stored }
                    dropped(.bufferOverrun, evicted)
                case .block:
                    if shutdown.isStopping { return .stopped }
                    // Acknowledgements free segments and wake this; the stop is checked often.
                    _ = lock.wait(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 200_000_000)
                }
            }
            return .stored
        }
    }

    /// Under `lock`: deletes the oldest segment to make room (`drop_oldest`); returns the events
    /// it held that were never read or were given back, or nil when only the segment being
    /// written is left.
    private func evictOldestSegment() -> Int? {
        guard segments.count > 1 else { return nil }
        let oldest = segments.removeFirst()
        oldest.delete()
        totalBytes -= oldest.size
        let unread = oldest.unreadEvents + ledger.evict(segmentFirstSequence: oldest.firstSequence)
        waitingEventCount -= unread
        cursor.firstSegmentRemoved(evicted: true, next: segments.first)
        advancePosition()
        return unread
    }

    /// Writes a record (outside the lock) and counts it in; returns an error description, or
    /// nil. Appending thread only.
    private func write(_ record: UnsafeRawBufferPointer, sequence: UInt64, events: Int, settings: DiskBufferSettings) -> String? {
        let newest = lock.withLock { segments.last }
        let written = writer.write(record, sequence: sequence, newest: newest, settings: settings) { created in
            lock.withLock { segments.append(created) }
        }
        switch written {
        case .failure(let error):
            return error.description
        case .success(let (segment, _)):
            lock.withLock {
                segment.size += record.count
                segment.lastSequence = sequence
                segment.unreadEvents += events
                totalBytes += record.count
                nextSequence = sequence + 1
                waitingEventCount += events
                counts.appends += 1
                lock.broadcast()
            }
            return nil
        }
    }
}
