import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Writes a disk buffer's records into its segment files: the appending thread's part, and
/// only that thread's (no lock of its own). A record goes at the end of the newest segment, or
/// into a new one when that is full or a write there failed; what it writes is made durable by
/// `sync`: at once (`always`), on `syncWritten` (`interval`), or when the kernel pleases.
final class SegmentWriter {
    let directory: String
    /// Whether the newest segment has bytes not yet synced.
    private var unsynced = false
    /// Earlier segments written since the last sync (`interval`): synced with the newest. Held
    /// weakly: a segment deleted meanwhile must close (its space goes back to the disk only then).
    private var unsyncedSegments: [WeakSegment] = []
    /// A write into the newest segment failed: the next goes to a new one (a file-size limit is
    /// per file; a full disk fails there too and is retried).
    private var rollBeforeNextWrite = false
    private var lastSyncNanoseconds = MonotonicClock.nowNanoseconds()

    private struct WeakSegment {
        weak var segment: BufferSegment?
    }

    init(directory: String) {
        self.directory = directory
    }

    /// Writes `record` (sequence `sequence`) at the end of `newest`, or of a new segment, which
    /// `created` is told of before anything is written to it. Returns the segment and the offset
    /// the record starts at; the caller then counts the record in (the segment's `size`).
    func write(
        _ record: UnsafeRawBufferPointer, sequence: UInt64, newest: BufferSegment?, settings: DiskBufferSettings,
        created: (BufferSegment) -> Void
    ) -> Result<(segment: BufferSegment, offset: Int), BufferError> {
        var segment = newest
        if segment == nil || (segment!.size + record.count > settings.segmentBytes || rollBeforeNextWrite) && segment!.size > 0 {
            rollBeforeNextWrite = false
            if let previous = segment, unsynced, settings.sync == .interval { unsyncedSegments.append(WeakSegment(segment: previous)) }
            switch newSegment(firstSequence: sequence, sync: settings.sync) {
            case .success(let made):
                created(made)
                segment = made
            case .failure(let error):
                return .failure(error)
            }
        }
        guard let segment else { return .failure(BufferError("no segment")) }
        let offset = segment.size
        var written = 0
        while written < record.count {
            CrashPoints.reach(.write)
            let result = pwrite(segment.descriptor, record.baseAddress! + written, record.count - written, off_t(offset + written))
            if result > 0 {
                written += result
                continue
            }
            if result < 0 && errno == EINTR { continue }
            let error = errno
            _ = ftruncate(segment.descriptor, off_t(offset))
            rollBeforeNextWrite = true
            return .failure(BufferError("writing \(segment.path) failed: \(BufferFiles.describe(error))"))
        }
        if settings.sync == .always {
            CrashPoints.reach(.sync)
            guard fdatasync(segment.descriptor) == 0 else {
                let error = errno
                _ = ftruncate(segment.descriptor, off_t(offset))
                return .failure(BufferError("syncing \(segment.path) failed: \(BufferFiles.describe(error))"))
            }
        } else {
            unsynced = true
        }
        return .success((segment, offset))
    }

    private func newSegment(firstSequence: UInt64, sync: DiskBufferSettings.Sync) -> Result<BufferSegment, BufferError> {
        let path = directory + "/" + BufferFiles.segmentName(firstSequence: firstSequence)
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return .failure(BufferError("cannot create \(path): \(BufferFiles.describe(errno))")) }
        if sync != .never, let error = BufferFiles.syncDirectory(directory) {
            Glibc.close(descriptor)
            unlink(path)
            return .failure(BufferError(error))
        }
        return .success(BufferSegment(firstSequence: firstSequence, path: path, descriptor: descriptor, size: 0))
    }

    /// Whether `sync: interval`'s interval has passed since the last sync (and starts the next).
    func isSyncDue(intervalNanoseconds: UInt64) -> Bool {
        let now = MonotonicClock.nowNanoseconds()
        guard now - lastSyncNanoseconds >= intervalNanoseconds else { return false }
        lastSyncNanoseconds = now
        return true
    }

    /// `fdatasync` of every segment written since the last sync and still there (`stillThere`
    /// filters them under the buffer's lock: deletion happens on other threads), and of
    /// `newest` when it has unsynced bytes.
    func syncWritten(newest: BufferSegment?, stillThere: ([BufferSegment]) -> [BufferSegment]) {
        for segment in stillThere(unsyncedSegments.compactMap(\.segment)) {
            CrashPoints.reach(.sync)
            _ = fdatasync(segment.descriptor)
        }
        unsyncedSegments.removeAll()
        if unsynced, let newest {
            CrashPoints.reach(.sync)
            _ = fdatasync(newest.descriptor)
        }
        unsynced = false
    }
}
