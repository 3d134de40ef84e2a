import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// One open archive file. Members are written whole, in the order they were submitted, at the
/// file's current end, so the file only ever holds complete gzip members: a kill can lose at
/// most the member being written, and `gzip -t` passes on what is left.
///
/// A failed write is undone (the file is truncated back to the member's start) and retried with
/// backoff until it succeeds or shutdown stops waiting; meanwhile later members wait, the
/// compression queue fills, and the sink holds the ring. If the file was deleted under Sluice (its
/// directory removed), the next member goes to a new file at the same path.
///
/// `@unchecked Sendable`: the descriptor, offset and sequence counters are only touched under
/// `lock`; `path` and `renderedPath` are fixed.
final class ArchiveFile: @unchecked Sendable {
    let renderedPath: String
    let sourceName: String
    let openedAtMilliseconds: Int64
    private(set) var path: String
    private let mode: UInt32
    private let sinkName: String
    private let lock = ConditionLock()
    private var descriptor: Int32
    private var offset = 0
    private var nextToWrite = 0
    private var nextToSubmit = 0
    private let logger = Logger(label: "sluice.sink")

    /// Opens a new file at `renderedPath` (or, when a file is there already, at a name with a
    /// collision suffix), creating the directories it needs.
    init(renderedPath: String, sourceName: String, mode: UInt32, sinkName: String, nowMilliseconds: Int64) throws {
        self.renderedPath = renderedPath
        self.sourceName = sourceName
        self.mode = mode
        self.sinkName = sinkName
        openedAtMilliseconds = nowMilliseconds
        (path, descriptor) = try Self.create(renderedPath, mode: mode, sinkName: sinkName)
    }

    /// Bytes written to disk so far (complete members only).
    var bytesOnDisk: Int { lock.withLock { offset } }

    /// Reserves the next member's place in the file's order.
    func reserveSequence() -> Int {
        lock.withLock {
            defer { nextToSubmit += 1 }
            return nextToSubmit
        }
    }

    /// Writes a compressed member once every member before it is written. Returns false when
    /// shutdown ended the retries first (the member was not written).
    func write(member: UnsafeRawBufferPointer, sequence: Int, sync: Bool, report: DeliveryReport) -> Bool {
        lock.withLock {
            while nextToWrite != sequence { _ = lock.wait(deadlineNanoseconds: nil) }
        }
        defer {
            lock.withLock {
                nextToWrite += 1
                lock.broadcast()
            }
        }
        var backoff: UInt64 = 100_000_000
        var failures = 0
        while true {
            let error = lock.withLock { attemptWrite(member, sync: sync) }
            guard let error else {
                if failures > 0 {
                    logger.info("archive writes recovered", metadata: ["sink": "\(sinkName)", "path": "\(path)", "failed_attempts": "\(failures)"])
                    report.setProblem(nil)
                }
                return true
            }
            failures += 1
            report.setProblem(error)
            report.counters.retries.add(1)
            if failures == 1 || failures.isMultiple(of: 10) {
                logger.error("archive write failed; \(Self.whileRetrying(report.whenFull))", metadata: [
                    "sink": "\(sinkName)", "error": "\(error)", "attempt": "\(failures)", "retry_in_ms": "\(backoff / 1_000_000)",
                ])
            }
            guard report.shutdown.sleep(nanoseconds: backoff) else { return false }
            backoff = min(backoff * 2, 5_000_000_000)
        }
    }

    /// What a failing write means for the events behind it, by the sink's policy.
    static func whileRetrying(_ policy: WhenFull) -> String {
        switch policy {
        case .block: "holding the sources back and retrying"
        case .dropNewest: "retrying; events that arrive meanwhile are dropped (drop_newest: sink_busy)"
        case .dropOldest: "retrying; the ring overruns this sink meanwhile (drop_oldest: ring_overrun)"
        }
    }

    /// One try: reopen if the file was deleted, write the whole member at the end, undo a
    /// partial write. Returns a description of the failure, or nil. Called under `lock`.
    private func attemptWrite(_ member: UnsafeRawBufferPointer, sync: Bool) -> String? {
        if descriptor < 0 || isDeleted() {
            if descriptor >= 0 {
                logger.error("archive file was deleted while open; starting it again", metadata: ["sink": "\(sinkName)", "path": "\(path)"])
                Glibc.close(descriptor)
                descriptor = -1
            }
            do {
                (path, descriptor) = try Self.create(renderedPath, mode: mode, sinkName: sinkName)
                offset = 0
            } catch {
                return "\(error)"
            }
        }
        var written = 0
        while written < member.count {
            let result = pwrite(descriptor, member.baseAddress! + written, member.count - written, off_t(offset + written))
            if result > 0 {
                written += result
                continue
            }
            if result < 0 && errno == EINTR { continue }
            let error = errno
            // Leave no partial member behind.
            _ = ftruncate(descriptor, off_t(offset))
            return "writing \(path) failed: \(String(cString: strerror(error))) (errno \(error))"
        }
        if sync, fdatasync(descriptor) != 0 {
            let error = errno
            _ = ftruncate(descriptor, off_t(offset))
            return "syncing \(path) failed: \(String(cString: strerror(error))) (errno \(error))"
        }
        offset += member.count
        return nil
    }

    private func isDeleted() -> Bool {
        var status = stat()
        return fstat(descriptor, &status) == 0 && status.st_nlink == 0
    }

    /// Waits until every reserved member is written, then syncs and closes the file.
    func close() {
        lock.withLock {
            while nextToWrite != nextToSubmit { _ = lock.wait(deadlineNanoseconds: nil) }
            if descriptor >= 0 {
                fsync(descriptor)
                Glibc.close(descriptor)
                descriptor = -1
            }
        }
    }

    /// Creates the file (and its directories), each synced into its parent directory before the
    /// file's first member is written: a member's `fdatasync` keeps its bytes through a power
    /// loss, but only a synced directory keeps the name that finds them.
    private static func create(_ renderedPath: String, mode: UInt32, sinkName: String) throws -> (String, Int32) {
        try ArchiveDirectories.create(parentOf: renderedPath, sinkName: sinkName)
        var candidate = renderedPath
        for number in 1...10_000 {
            let descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
            if descriptor >= 0 {
                do {
                    try ArchiveDirectories.sync(parentOf: candidate, sinkName: sinkName)
                } catch {
                    Glibc.close(descriptor)
                    unlink(candidate)  // empty; the retry makes it again
                    throw error
                }
                return (candidate, descriptor)
            }
            guard errno == EEXIST else {
                let error = errno
                throw SinkError.transient("archive sink \"\(sinkName)\": cannot create \(candidate): \(String(cString: strerror(error))) (errno \(error))")
            }
            candidate = ArchiveFileName.withCollisionSuffix(renderedPath, number: number)
        }
        throw SinkError.transient("archive sink \"\(sinkName)\": 10,000 files named like \(renderedPath) exist already")
    }
}

enum ArchiveDirectories {
    /// `mkdir -p` of the directory holding `path` (mode 0755), each directory made synced into
    /// its parent.
    static func create(parentOf path: String, sinkName: String) throws {
        guard let directory = parent(of: path) else { return }
        var status = stat()
        if stat(directory, &status) == 0 { return }
        try create(parentOf: directory, sinkName: sinkName)
        if mkdir(directory, 0o755) == 0 {
            try sync(parentOf: directory, sinkName: sinkName)
        } else if errno != EEXIST {
            let error = errno
            throw SinkError.transient("archive sink \"\(sinkName)\": cannot create directory \(directory): \(String(cString: strerror(error))) (errno \(error))")
        }
    }

    /// `fsync` of the directory holding `path`, so the entry just made in it survives a crash.
    static func sync(parentOf path: String, sinkName: String) throws {
        let directory = parent(of: path) ?? (path.hasPrefix("/") ? "/" : ".")
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let error = descriptor < 0 ? errno : fsync(descriptor) == 0 ? 0 : errno
        if descriptor >= 0 { close(descriptor) }
        guard error == 0 else {
            throw SinkError.transient("archive sink \"\(sinkName)\": cannot sync directory \(directory): \(String(cString: strerror(error))) (errno \(error))")
        }
    }

    private static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return nil }
        return String(path[..<slash])
    }
}
