import Logging
public import SluiceCore
import SluiceSync

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
/// before the next new one. A segment is deleted once every record in it is acknowledged. On
/// opening, what waits is read once and checked (`DiskBuffer+Recovery.swift`): damage is moved
/// to the quarantine, counted, and stepped over, so it can never stop the buffer.
///
/// The parts, each with its own tests: `SegmentWriter` writes records into segment files (the
/// appending thread's, `DiskBuffer+Appending.swift`), `ReadCursor` is where the reader is and
/// `SegmentReader` reads and checks records (the reading thread's, `DiskBuffer+Reading.swift`),
/// and `AcknowledgementLedger` keeps what the sink holds and the position (any thread, below).
/// This type holds them together under one lock, and does no file I/O under it.
///
/// `@unchecked Sendable`: mutable state is under `lock`, or belongs to the appending thread
/// (`writer`, `appendScratch`) or the reading thread (`reader`), as marked.
public final class DiskBuffer: DurableSinkBuffer, @unchecked Sendable {
    public typealias AppendOutcome = BufferAppendOutcome
    public typealias ReadOutcome = BufferReadOutcome
    typealias HandedOut = AcknowledgementLedger.HandedOut

    public let directory: String
    /// Under `lock` (a reload may change it); `settings` reads it.
    var storedSettings: DiskBufferSettings
    let sinkName: String
    let logger: Logger
    let lock = ConditionLock()

    // Under `lock`:
    var segments: [BufferSegment] = []
    var totalBytes = 0
    var nextSequence: UInt64 = 0
    var cursor = ReadCursor()
    /// What the sink holds or gave back, and the position (the first record not yet
    /// acknowledged).
    var ledger = AcknowledgementLedger()
    /// The position as last written to the position file, and as last synced there.
    var writtenPosition: UInt64 = 0
    var syncedPosition: UInt64 = 0
    var waitingEventCount = 0
    var appendingEnded = false
    var readerGeneration = 0
    var counts = Counts()
    var writeProblemReported = false

    /// Under `lock`: numbers for metrics.
    struct Counts {
        var appends = 0
        var acknowledged = 0
        var lost: [BufferLoss: Int] = [:]
    }

    // The appending thread's:
    var appendScratch = ByteWriter(capacity: 1 << 20)
    let writer: SegmentWriter

    // The reading thread's:
    var reader = SegmentReader(descriptor: -1)

    /// Serialises writes of the position file (they happen outside `lock`).
    private let positionWrites = ConditionLock()
    /// Under `positionWrites`: the position file, open for overwriting in place (-1: not open,
    /// or replaced since).
    private var positionDescriptor: Int32 = -1

    /// The buffer directory of `sink` under a data directory.
    public static func directory(dataDirectory: String, sink: String) -> String {
        BufferFiles.directory(dataDirectory: dataDirectory, sink: sink)
    }

    /// Opens (or creates) the buffer in `directory`, recovering what a previous run left.
    public init(directory: String, settings: DiskBufferSettings, sinkName: String) throws(BufferError) {
        self.directory = directory
        storedSettings = settings
        self.sinkName = sinkName
        writer = SegmentWriter(directory: directory)
        var logger = Logger(label: "sluice.buffer")
        logger[metadataKey: "sink"] = .string(sinkName)
        self.logger = logger
        try recover()
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

    /// Syncs everything and records the position: the buffer can be opened again as it is.
    public func close() {
        let empty = lock.withLock { () -> Bool in
            guard ledger.isSettled, ledger.position >= nextSequence else { return false }
            // Everything acknowledged: no segment is worth keeping (or syncing).
            for segment in segments { segment.delete() }
            segments.removeAll()
            totalBytes = 0
            cursor.allSegmentsRemoved()
            return true
        }
        if !empty { syncWritten() }
        persistPosition(durable: true)
        positionWrites.withLock {
            if positionDescriptor >= 0 { Glibc.close(positionDescriptor) }
            positionDescriptor = -1
        }
    }

    deinit {
        if positionDescriptor >= 0 { Glibc.close(positionDescriptor) }
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

    /// Records the acknowledgement; when it moves the position, the position file follows: synced
    /// under `sync: always`, otherwise overwritten in place without a sync (under a microsecond).
    /// The page cache outlives a process killed with SIGKILL (the OOM killer, a kubelet past the
    /// grace period), so such a kill delivers again only what was in flight, not everything
    /// acknowledged since the last sync; a power cut falls back to the last synced position.
    public func acknowledge(_ ticket: DeliveryTicket) {
        let moved = lock.withLock { () -> Bool in
            guard let record = ledger.acknowledge(ticket.number) else { return false }
            waitingEventCount -= record.events
            counts.acknowledged += 1
            return advancePosition()
        }
        if moved { persistPosition(durable: settings.sync == .always) }
    }

    /// Under `lock`: moves the position to the first record not yet acknowledged and deletes
    /// the segments entirely before it. True when it moved.
    @discardableResult
    func advancePosition() -> Bool {
        guard ledger.advance(unread: cursor.nextUnreadSequence(in: segments) ?? nextSequence) else { return false }
        while segments.count > 1, cursor.segment > 0, segments[0].lastSequence.map({ $0 < ledger.position }) ?? true {
            let done = segments.removeFirst()
            done.delete()
            totalBytes -= done.size
            cursor.firstSegmentRemoved(evicted: false, next: segments.first)
        }
        lock.broadcast()
        return true
    }

    /// Writes the position file when the position moved since it was last written (`durable`:
    /// synced).
    func persistPosition(durable: Bool) {
        positionWrites.withLock {
            let (current, recorded) = lock.withLock { (ledger.position, durable ? syncedPosition : writtenPosition) }
            guard current != recorded else { return }
            let failure: String?
            if durable {
                failure = BufferFiles.writePosition(current, in: directory, durable: true)
                if positionDescriptor >= 0 { Glibc.close(positionDescriptor) }
                positionDescriptor = -1
            } else {
                failure = BufferFiles.overwritePosition(current, in: directory, descriptor: &positionDescriptor)
            }
            if let failure {
                logger.error("cannot record the disk buffer's position", metadata: ["error": "\(failure)"])
                return
            }
            lock.withLock {
                writtenPosition = current
                if durable { syncedPosition = current }
            }
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
            let stats = Stats(
                events: waitingEventCount, bytes: totalBytes, segments: segments.count, oldestAgeSeconds: 0, appends: counts.appends,
                acknowledged: counts.acknowledged, lost: counts.lost, maxBytes: storedSettings.maxBytes
            )
            return (stats, ledger.oldestAppendedAt ?? nextUnreadAppendedAt())
        }
        var result = snapshot
        if let oldest, snapshot.events > 0 { result.oldestAgeSeconds = max(0, Double(EventTimestamp.nowMilliseconds() - oldest) / 1000) }
        return result
    }

    /// Under `lock`: when the next record to read was appended (read from its header).
    private func nextUnreadAppendedAt() -> Int64? {
        guard cursor.segment < segments.count else { return nil }
        let segment = segments[cursor.segment]
        guard cursor.offset + BufferRecord.headerBytes + 16 <= segment.size else { return nil }
        var value: Int64 = 0
        let got = withUnsafeMutableBytes(of: &value) {
            pread(segment.descriptor, $0.baseAddress, 8, off_t(cursor.offset + BufferRecord.headerBytes + 8))
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
