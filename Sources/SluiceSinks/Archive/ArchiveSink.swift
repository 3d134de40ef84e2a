public import SluiceCore
import Logging
import SluiceSync

/// Writes events to rotating gzip files: the durable copy a person greps a week later and the
/// source of backfills (`sluice replay`).
///
/// Events go into 1 MiB chunks per file; each chunk becomes one gzip member, compressed on a
/// pool of threads and written in order. The current chunk is closed into a member at least
/// every `flush_interval` (and that member is synced to disk), so a SIGKILL or power loss costs
/// at most one interval, and files only ever hold complete members.
public final class ArchiveSink: AcknowledgingSink, @unchecked Sendable {
    // @unchecked: files and chunks are touched only by the sink's thread; the pool and the files
    // synchronise what their workers share.
    public let settings: ArchiveSettings
    private let sinkName: String
    private let host: String
    private let pool: CompressionPool
    /// Open files by source name (one key, `all`, when the path has no `{source}`).
    private var files: [String: (file: ArchiveFile, chunk: ArchiveChunk)] = [:]
    private let logger = Logger(label: "sluice.sink")
    /// Wall-clock milliseconds, for naming and rotating files (tests move it by hand).
    private let now: @Sendable () -> Int64

    public init(
        name: String, settings: ArchiveSettings, host: String, report: DeliveryReport,
        now: @escaping @Sendable () -> Int64 = EventTimestamp.nowMilliseconds
    ) {
        self.now = now
        sinkName = name
        self.settings = settings
        self.host = host
        pool = CompressionPool(
            threads: settings.compressionThreads, level: Int32(settings.gzipLevel), chunkBytes: settings.chunkBytes,
            sinkName: name, report: report
        )
    }

    public var flushIntervalNanoseconds: UInt64? { settings.flushIntervalNanoseconds }

    public func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws {
        let key = settings.template.usesSource ? batch.sourceName : "all"
        let now = now()
        if let open = files[key], needsRotation(open.file, source: key, now: now) {
            rotate(key)
        }
        if files[key] == nil {
            let path = settings.template.render(source: key, host: host, atMilliseconds: now)
            let file = try ArchiveFile(renderedPath: path, sourceName: key, mode: settings.fileMode, sinkName: sinkName, nowMilliseconds: now)
            files[key] = (file, pool.takeChunk())
            logger.info("archive file opened", metadata: ["sink": "\(sinkName)", "path": "\(file.path)"])
        }
        guard let (file, chunk) = files[key] else { return }
        if chunk.events == 0 { chunk.startedAtNanoseconds = MonotonicClock.nowNanoseconds() }
        chunk.bytes.append(batch.bytes)
        chunk.events += batch.count
        chunk.tickets.add(ticket, events: batch.count)
        if chunk.bytes.count >= settings.chunkBytes {
            submitChunk(key, file: file, sync: false)
        }
    }

    /// Closes every chunk older than the flush interval into a synced member, and rotates files
    /// that are due.
    public func flush() throws {
        let now = now()
        let nowNanoseconds = MonotonicClock.nowNanoseconds()
        for (key, open) in files {
            if needsRotation(open.file, source: key, now: now) {
                rotate(key)
            } else if open.chunk.events > 0, nowNanoseconds - open.chunk.startedAtNanoseconds >= settings.flushIntervalNanoseconds * 9 / 10 {
                submitChunk(key, file: open.file, sync: true)
            }
        }
    }

    public func finish() throws {
        for key in Array(files.keys) { rotate(key) }
        pool.close()
    }

    /// SIGHUP: every open file is finished and closed; the next event for it starts a new file
    /// at its path (a rotation tool moved the old one away; an existing file is never reused).
    public func reopenFiles() throws {
        for key in Array(files.keys) { rotate(key) }
    }

    private func submitChunk(_ key: String, file: ArchiveFile, sync: Bool) {
        guard let chunk = files[key]?.chunk, chunk.events > 0 else { return }
        pool.submit(chunk, to: file, sync: sync)
        files[key]?.chunk = pool.takeChunk()
    }

    private func needsRotation(_ file: ArchiveFile, source: String, now: Int64) -> Bool {
        if let maxBytes = settings.rotateMaxBytes, file.bytesOnDisk >= maxBytes { return true }
        if let maxAge = settings.rotateMaxAgeMilliseconds, now - file.openedAtMilliseconds >= maxAge { return true }
        if settings.template.rotatesOnPathChange {
            return settings.template.render(source: source, host: host, atMilliseconds: now) != file.renderedPath
        }
        return false
    }

    /// Finishes the file (its last member synced), closes it and applies retention. The next
    /// event for it opens a new file.
    private func rotate(_ key: String) {
        guard let open = files[key] else { return }
        submitChunk(key, file: open.file, sync: true)
        open.file.close()
        files[key] = nil
        logger.info("archive file closed", metadata: ["sink": "\(sinkName)", "path": "\(open.file.path)", "bytes": "\(open.file.bytesOnDisk)"])
        ArchiveRetention(settings: settings, sinkName: sinkName).apply(
            around: open.file.path, source: open.file.sourceName, host: host,
            keeping: Set(files.values.map(\.file.path)), now: now()
        )
    }
}
