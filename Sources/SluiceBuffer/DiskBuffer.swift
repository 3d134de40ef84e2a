import Logging
public import SluiceCore
import SluiceSync
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One sink's disk buffer: batches appended by the sink's ring reader, read back in order by
/// the sink's thread, and let go only once the sink acknowledges them.
///
/// Records live in append-only segment files (`BufferRecord`, `BufferFiles`). The reader hands
/// out records in order; acknowledgements may come in any order; the position (the first record
/// not yet acknowledged) only moves past a contiguous run, and is kept in a file. A record the
/// sink gives back unsettled (`release`: a reload replaced it mid-delivery) is handed out again
/// before the next new one. A segment is
/// deleted once every record in it is acknowledged. On opening, what waits is read once and
/// checked (`DiskBuffer+Recovery.swift`): damage is moved to the quarantine, counted, and
/// stepped over, so it can never stop the buffer.
///
/// Threads: one appends (`append`, `syncIfDue`), one reads (`next`), any acknowledges. File
/// reads and writes happen outside the lock; `state` guards the bookkeeping.
///
/// `@unchecked Sendable`: mutable state is under `lock`, or belongs to the appending thread
/// (`appendScratch`, `unsynced`) or the reading thread (`reader`), as marked.
public final class DiskBuffer: DurableSinkBuffer, @unchecked Sendable {
    /// One segment file.
    final class Segment {
        let firstSequence: UInt64
        let path: String
        let descriptor: Int32
        /// Bytes that hold complete records (what may be read).
        var size: Int
        var lastSequence: UInt64?
        /// Events in its records not yet read, for counting what an eviction drops.
        var unreadEvents = 0
        /// Ranges the reader steps over (found damaged when the buffer opened).
        var damaged: [Range<Int>] = []
        /// Deleted (everything in it acknowledged, or evicted): nothing to sync any more.
        var isDeleted = false

        init(firstSequence: UInt64, path: String, descriptor: Int32, size: Int) {
            self.firstSequence = firstSequence
            self.path = path
            self.descriptor = descriptor
            self.size = size
        }

        deinit {
            Glibc.close(descriptor)
        }
    }

    public typealias AppendOutcome = BufferAppendOutcome
    public typealias ReadOutcome = BufferReadOutcome

    public let directory: String
    /// Under `lock` (a reload may change it); `settings` reads it.
    private var storedSettings: DiskBufferSettings
    let sinkName: String
    let logger: Logger
    let lock = ConditionLock()

    // Under `lock`:
    var segments: [Segment] = []
    var totalBytes = 0
    var nextSequence: UInt64 = 0
    /// The reader's place: the segment (index into `segments`) and offset of the next record.
    var readSegment = 0
    var readOffset = 0
    /// The sequence the reader expects next (a gap after damage counts lost records).
    var expectedSequence: UInt64 = 0
    /// What the sink holds or gave back, and the position (the first record not yet
    /// acknowledged).
    var ledger = AcknowledgementLedger()
    typealias HandedOut = AcknowledgementLedger.HandedOut
    /// The position as last written to the position file.
    var persistedPosition: UInt64 = 0
    var waitingEventCount = 0
    var appendingEnded = false
    var readerGeneration = 0
    var counts = Counts()
    var lossReason: BufferLoss?
    var writeProblemReported = false

    /// Under `lock`: numbers for metrics.
    struct Counts {
        var appends = 0
        var acknowledged = 0
        var lost: [BufferLoss: Int] = [:]
    }

    // The appending thread's:
    private var appendScratch = ByteWriter(capacity: 1 << 20)
    private var unsynced = false
    /// Earlier segments written since the last sync (`interval`): synced with the newest. Held
    /// weakly: a segment deleted meanwhile must close (its space goes back to the disk only then).
    private var unsyncedSegments: [WeakSegment] = []

    private struct WeakSegment {
        weak var segment: Segment?
    }
    /// A write into the newest segment failed: the next goes to a new one (a file-size limit is
    /// per file; a full disk fails there too and is retried).
    private var rollBeforeNextWrite = false
    private var lastSyncNanoseconds = MonotonicClock.nowNanoseconds()

    // The reading thread's:
    private var reader = SegmentReader(descriptor: -1)

    /// Serialises writes of the position file (they happen outside `lock`).
    private let positionWrites = ConditionLock()

    /// The buffer directory of `sink` under a data directory.
    public static func directory(dataDirectory: String, sink: String) -> String {
        BufferFiles.directory(dataDirectory: dataDirectory, sink: sink)
    }

    /// Opens (or creates) the buffer in `directory`, recovering what a previous run left.
    public init(directory: String, settings: DiskBufferSettings, sinkName: String) throws(BufferError) {
        self.directory = directory
        storedSettings = settings
        self.sinkName = sinkName
        var logger = Logger(label: "sluice.buffer")
        logger[metadataKey: "sink"] = .string(sinkName)
        self.logger = logger
        try recover()
    }

    // MARK: Appending (the sink's ring reader)

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

    /// Deletes the oldest segment to make room (`drop_oldest`); returns the events it held that
    /// were never read or were given back, or nil when only the segment being written is left.
    private func evictOldestSegment() -> Int? {
        guard segments.count > 1 else { return nil }
        let oldest = segments.removeFirst()
        CrashPoints.reach(.unlink)
        unlink(oldest.path)
        oldest.isDeleted = true
        totalBytes -= oldest.size
        let unread = oldest.unreadEvents + ledger.evict(segmentFirstSequence: oldest.firstSequence)
        waitingEventCount -= unread
        if readSegment > 0 {
            readSegment -= 1
        } else {
            readOffset = 0
        }
        if let next = segments.first { expectedSequence = max(expectedSequence, next.firstSequence) }
        advancePosition()
        return unread
    }

    /// Appends a record to the newest segment (a new one when it is full); returns an error
    /// description, or nil. Appending thread only (the bookkeeping goes under the lock).
    private func write(_ record: UnsafeRawBufferPointer, sequence: UInt64, events: Int, settings: DiskBufferSettings) -> String? {
        var segment = lock.withLock { segments.last }
        if segment == nil || (segment!.size + record.count > settings.segmentBytes || rollBeforeNextWrite) && segment!.size > 0 {
            rollBeforeNextWrite = false
            if let previous = segment, unsynced, settings.sync == .interval { unsyncedSegments.append(WeakSegment(segment: previous)) }
            switch newSegment(firstSequence: sequence, sync: settings.sync) {
            case .success(let created): segment = created
            case .failure(let error): return error.description
            }
        }
        guard let segment else { return "no segment" }
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
            return "writing \(segment.path) failed: \(BufferFiles.describe(error))"
        }
        if settings.sync == .always {
            CrashPoints.reach(.sync)
            guard fdatasync(segment.descriptor) == 0 else {
                let error = errno
                _ = ftruncate(segment.descriptor, off_t(offset))
                return "syncing \(segment.path) failed: \(BufferFiles.describe(error))"
            }
        } else {
            unsynced = true
        }
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

    private func newSegment(firstSequence: UInt64, sync: DiskBufferSettings.Sync) -> Result<Segment, BufferError> {
        let path = directory + "/" + BufferFiles.segmentName(firstSequence: firstSequence)
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return .failure(BufferError("cannot create \(path): \(BufferFiles.describe(errno))")) }
        if sync != .never, let error = BufferFiles.syncDirectory(directory) {
            Glibc.close(descriptor)
            unlink(path)
            return .failure(BufferError(error))
        }
        let segment = Segment(firstSequence: firstSequence, path: path, descriptor: descriptor, size: 0)
        lock.withLock { segments.append(segment) }
        return .success(segment)
    }

    public var syncIntervalNanoseconds: UInt64 { settings.syncIntervalNanoseconds }

    public var waitingEvents: Int { lock.withLock { waitingEventCount } }

    public var isNearlyFull: Bool { lock.withLock { totalBytes * 10 > storedSettings.maxBytes * 9 } }

    /// The settings in force.
    public var settings: DiskBufferSettings { lock.withLock { storedSettings } }

    /// A reload changed the sink's buffer settings (not its type or place): they apply from the
    /// next append on.
    public func update(_ newSettings: DiskBufferSettings) {
        lock.withLock {
            storedSettings = newSettings
            lock.broadcast()
        }
    }

    /// Under `sync: interval`, syncs what was appended (and the position) once the interval has
    /// passed. The appending thread calls it after appends and while idle.
    public func syncIfDue() {
        let settings = self.settings
        let now = MonotonicClock.nowNanoseconds()
        guard settings.sync == .interval, now - lastSyncNanoseconds >= settings.syncIntervalNanoseconds else { return }
        lastSyncNanoseconds = now
        syncWritten()
        persistPosition(durable: true)
    }

    /// `fdatasync` of every segment written since the last sync. Appending thread only.
    private func syncWritten() {
        let (earlier, newest) = lock.withLock { (unsyncedSegments.compactMap(\.segment).filter { !$0.isDeleted }, segments.last) }
        for segment in earlier {
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

    /// Syncs everything and records the position: the buffer can be opened again as it is.
    public func close() {
        let empty = lock.withLock { () -> Bool in
            guard ledger.isSettled, ledger.position >= nextSequence else { return false }
            // Everything acknowledged: no segment is worth keeping (or syncing).
            for segment in segments {
                CrashPoints.reach(.unlink)
                unlink(segment.path)
                segment.isDeleted = true
            }
            segments.removeAll()
            totalBytes = 0
            readSegment = 0
            readOffset = 0
            return true
        }
        if !empty { syncWritten() }
        persistPosition(durable: true)
    }

    // MARK: Reading (the sink's thread)

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
            case place(Segment, offset: Int, size: Int)
            case givenBack(UInt64, HandedOut, Segment)
            case outcome(ReadOutcome)
        }
        while true {
            let found = lock.withLock { () -> Found in
                while true {
                    guard generation == readerGeneration else { return .outcome(.handedOver) }
                    if let (sequence, record, segment) = firstGivenBack() { return .givenBack(sequence, record, segment) }
                    if let (segment, offset, size) = readablePlace() { return .place(segment, offset: offset, size: size) }
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

    /// Under `lock`: where the next record is, stepping over read segments and known damage;
    /// nil when there is nothing to read yet.
    private func readablePlace() -> (Segment, Int, Int)? {
        while readSegment < segments.count {
            let segment = segments[readSegment]
            if let damage = segment.damaged.first(where: { $0.contains(readOffset) }) {
                readOffset = damage.upperBound  // found and counted when the buffer opened
                continue
            }
            if readOffset < segment.size { return (segment, readOffset, segment.size) }
            guard readSegment + 1 < segments.count else { return nil }
            readSegment += 1
            readOffset = 0
        }
        return nil
    }

    /// Reads the record at `offset` (outside the lock) and hands it out; nil to look again
    /// (damage was stepped over, or the reader changed).
    private func read(_ segment: Segment, at offset: Int, size: Int, generation: Int) -> ReadOutcome? {
        reader.descriptor = segment.descriptor
        switch reader.item(at: offset, size: size) {
        case .record(_, let bytes, let summary):
            let batch = BufferRecord.decode(payload: reader.lastPayload)
            return lock.withLock { () -> ReadOutcome? in
                guard generation == readerGeneration, segments.indices.contains(readSegment), segments[readSegment] === segment,
                      readOffset == offset else { return nil }
                readOffset = offset + bytes
                // Acknowledged before the last stop (the position is within this segment).
                if summary.sequence < expectedSequence && lossReason == nil { return nil }
                countGap(upTo: summary.sequence)
                expectedSequence = summary.sequence + 1
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
                return .record(batch, DeliveryTicket(summary.sequence), endOfRun: isEndOfRun)
            }
        case .damaged(let range, _):
            let quarantined = BufferFiles.quarantine(segment.path, range: range, in: directory)
            lock.withLock {
                if segments.indices.contains(readSegment), segments[readSegment] === segment, readOffset == offset {
                    readOffset = range.upperBound
                    lossReason = .checksum
                }
            }
            logDamage(segment.path, range, reason: "a checksum failed", quarantined: quarantined)
            return nil
        case .end:
            return nil
        }
    }

    /// Under `lock`: whether the record just handed out is the last there is for now.
    private var isEndOfRun: Bool {
        guard !ledger.hasGivenBack else { return false }
        return readSegment >= segments.count || readSegment == segments.count - 1 && readOffset >= segments[readSegment].size
    }

    /// Under `lock`: the first record given back, and its segment (an eviction takes the records
    /// given back with their segment).
    private func firstGivenBack() -> (UInt64, HandedOut, Segment)? {
        guard let (sequence, record) = ledger.firstGivenBack,
              let segment = segments.first(where: { $0.firstSequence == record.segmentFirstSequence }) else { return nil }
        return (sequence, record, segment)
    }

    /// Reads a record given back (outside the lock) and hands it out again; nil to look again.
    private func readAgain(_ sequence: UInt64, _ record: HandedOut, in segment: Segment, generation: Int) -> ReadOutcome? {
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
            return .record(batch, DeliveryTicket(sequence), endOfRun: isEndOfRun)
        }
    }

    /// Under `lock`: records skipped since the last one read, past damage found while reading,
    /// are lost (damage found when the buffer opened was counted then).
    func countGap(upTo sequence: UInt64) {
        guard let reason = lossReason else { return }
        if sequence > expectedSequence { counts.lost[reason, default: 0] += Int(sequence - expectedSequence) }
        lossReason = nil
    }

    func logDamage(_ path: String, _ range: Range<Int>, reason: String, quarantined: String? = nil) {
        logger.error("disk buffer damaged; stepping over it", metadata: [
            "file": "\(path)", "offset": "\(range.lowerBound)", "bytes": "\(range.count)", "reason": "\(reason)",
            "quarantined": "\(quarantined ?? "-")",
        ])
    }

    // MARK: Acknowledging (any thread)

    /// The sink gives a record back unsettled: it is handed out again, before anything new.
    /// False when the buffer no longer has it (`drop_oldest` evicted its segment meanwhile):
    /// its events are lost, and the caller counts them (`buffer_overrun`).
    public func release(_ ticket: DeliveryTicket) -> Bool {
        lock.withLock {
            let segmentExists = { (first: UInt64) in self.segments.contains { $0.firstSequence == first } }
            guard let (record, kept) = ledger.giveBack(ticket.number, segmentExists: segmentExists) else { return true }
            guard kept else {
                waitingEventCount -= record.events
                advancePosition()
                return false
            }
            lock.broadcast()
            return true
        }
    }

    public func acknowledge(_ ticket: DeliveryTicket) {
        let persistNow = lock.withLock { () -> Bool in
            guard let record = ledger.acknowledge(ticket.number) else { return false }
            waitingEventCount -= record.events
            counts.acknowledged += 1
            return advancePosition()
        }
        if persistNow && settings.sync == .always { persistPosition(durable: true) }
    }

    /// Under `lock`: moves the position to the first record not yet acknowledged and deletes
    /// the segments entirely before it. True when it moved.
    @discardableResult
    func advancePosition() -> Bool {
        let unreadSequence = readSegment < segments.count ? nextUnreadSequence() : nextSequence
        guard ledger.advance(unread: unreadSequence) else { return false }
        while segments.count > 1, readSegment > 0, segments[0].lastSequence.map({ $0 < ledger.position }) ?? true {
            let done = segments.removeFirst()
            CrashPoints.reach(.unlink)
            unlink(done.path)
            done.isDeleted = true
            totalBytes -= done.size
            readSegment -= 1
        }
        lock.broadcast()
        return true
    }

    /// Under `lock`: the sequence of the next record to read (the expected one).
    private func nextUnreadSequence() -> UInt64 {
        max(expectedSequence, segments[readSegment].firstSequence)
    }

    /// Writes the position file when it moved since the last write.
    func persistPosition(durable: Bool) {
        positionWrites.withLock {
            let current = lock.withLock { ledger.position }
            guard current != lock.withLock({ persistedPosition }) else { return }
            if let error = BufferFiles.writePosition(current, in: directory, durable: durable) {
                logger.error("cannot record the disk buffer's position", metadata: ["error": "\(error)"])
                return
            }
            lock.withLock { persistedPosition = current }
        }
    }

    // MARK: What it holds

    public struct Stats: Sendable {
        public var events: Int
        public var bytes: Int
        public var segments: Int
        public var oldestAgeSeconds: Double
        public var appends: Int
        public var acknowledged: Int
        public var lost: [BufferLoss: Int]
        public var maxBytes: Int
    }

    public var stats: Stats {
        let (snapshot, oldest) = lock.withLock { () -> (Stats, Int64?) in
            let oldestOutstanding = ledger.oldestAppendedAt
            let stats = Stats(
                events: waitingEventCount, bytes: totalBytes, segments: segments.count, oldestAgeSeconds: 0, appends: counts.appends,
                acknowledged: counts.acknowledged, lost: counts.lost, maxBytes: storedSettings.maxBytes
            )
            return (stats, oldestOutstanding ?? nextUnreadAppendedAt())
        }
        var result = snapshot
        if let oldest, snapshot.events > 0 { result.oldestAgeSeconds = max(0, Double(EventTimestamp.nowMilliseconds() - oldest) / 1000) }
        return result
    }

    /// Under `lock`: when the next record to read was appended (read from its header).
    private func nextUnreadAppendedAt() -> Int64? {
        guard readSegment < segments.count else { return nil }
        let segment = segments[readSegment]
        guard readOffset + BufferRecord.headerBytes + 16 <= segment.size else { return nil }
        var value: Int64 = 0
        let got = withUnsafeMutableBytes(of: &value) {
            pread(segment.descriptor, $0.baseAddress, 8, off_t(readOffset + BufferRecord.headerBytes + 8))
        }
        return got == 8 ? Int64(littleEndian: value) : nil
    }
}

/// A disk buffer that cannot be opened or written: what, where, and why.
public struct BufferError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
