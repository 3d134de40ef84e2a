import CLinux
import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// The `file` source's thread: finds files, follows them across rotations and truncations,
/// reads what they gain, and keeps the checkpoints.
///
/// It waits in `poll` on inotify (directory watches: a write to any tailed file, a name that
/// appears or goes), the shutdown descriptors, and a timeout for the next periodic task: the
/// rescan (`glob_interval`, for filesystems without inotify events), the checkpoint (once a
/// second when something was read), a multiline group's timeout, and, while a file renamed
/// away is being finished, a short poll of that file. A quiet source is asleep.
///
/// Under `block` a full ring holds the publish, so the tailer stops reading: the files wait on
/// disk, the one kind of input where nothing has to be lost or buffered.
final class FileTailer {
    static let readSize = 256 * 1024
    /// Bytes one file may be read in one turn before the others get theirs.
    static let quantum = 4 * readSize
    /// How often files renamed away are polled while they are finished.
    static let departedPollNanoseconds: UInt64 = 200_000_000

    let name: String
    let settings: FileSourceSettings
    let common: SourceSettings
    let host: String
    let context: SourceContext
    let counters: FileSourceCounters
    let logger = Logger(label: "sluice.source")
    let sender: FileBatchSender
    var encoding: BatchEncoding
    var readBuffer = ReadBuffer(capacity: FileTailer.readSize * 2)
    var inotify: Inotify?
    private let includes: [FileGlob]
    private let excludes: [FileGlob]
    /// Every file being tailed, by identity, and by each path that leads to it.
    var files: [FileKey: TailedFile] = [:]
    var byPath: [String: TailedFile] = [:]
    /// Files finished (gone and read to their end) whose last marks are not taken yet.
    var retired: [TailedFile] = []
    var checkpoints: FileCheckpoints
    var currentMetadata: (ObjectIdentifier, Int)?
    private var queue: [TailedFile] = []
    var openFiles = 0
    /// Files waiting for a descriptor (see `FileTailer+Descriptors`), longest first.
    var waiting: [TailedFile] = []
    /// Paths that could not be opened, named once (until they can be).
    var unopenable: Set<String> = []
    var readSinceCheckpoint = false
    private var nextRescan: UInt64 = 0
    var nextCheckpoint: UInt64 = 0

    init(name: String, settings: FileSourceSettings, common: SourceSettings, host: String, context: SourceContext, counters: FileSourceCounters) {
        self.name = name
        self.settings = settings
        self.common = common
        self.host = host
        self.context = context
        self.counters = counters
        sender = FileBatchSender(context: context)
        encoding = BatchEncoding(
            context: context, format: common.format, metadata: common.metadata(sourceName: name, stream: nil, host: host),
            readSize: Self.readSize, sender: sender
        )
        includes = settings.include.map(FileGlob.init)
        excludes = settings.exclude.map(FileGlob.init)
        checkpoints = FileCheckpoints(dataDirectory: settings.dataDirectory, sourceName: name)
        inotify = Inotify()
    }

    func run() {
        for problem in checkpoints.load() { logger.warning("\(problem)", metadata: ["source": "\(name)"]) }
        if inotify == nil { logger.warning("inotify is not available; new data is found by the rescan alone", metadata: ["source": "\(name)"]) }
        rescan(initial: true)
        recoverRotatedFiles()
        context.markReady()
        let shutdown = context.shutdown
        var descriptors = [
            pollfd(fd: inotify?.descriptor ?? -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: shutdown.drainDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: shutdown.stopDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while !shutdown.isDraining {
            let now = MonotonicClock.nowNanoseconds()
            let wake = nextWake(now: now)
            let timeout = queue.isEmpty ? Int32(min((wake > now ? wake - now : 0) / 1_000_000 + 1, 60_000)) : 0
            _ = poll(&descriptors, 3, timeout)
            if descriptors[1].revents != 0 || descriptors[2].revents != 0 { break }
            if descriptors[0].revents != 0 { handleChanges() }
            let afterPoll = MonotonicClock.nowNanoseconds()
            if afterPoll >= nextRescan { rescan(initial: false) }
            guard serviceQueue(), pollDeparted(now: afterPoll), flushExpiredGroups(now: afterPoll) else { break }
            if afterPoll >= nextCheckpoint { checkpoint(now: afterPoll) }
        }
        finishCheckpoints()
    }

    /// When a periodic task is next due.
    private func nextWake(now: UInt64) -> UInt64 {
        var wake = nextRescan
        if readSinceCheckpoint || hasPendingMarks { wake = min(wake, nextCheckpoint) }
        for file in filesWithGroups() { wake = min(wake, file.multilineDeadline ?? .max) }
        if files.values.contains(where: { $0.gone != nil }) { wake = min(wake, now + Self.departedPollNanoseconds) }
        return wake
    }

    func filesWithGroups() -> [TailedFile] {
        guard common.multiline != nil else { return [] }
        return files.values.filter { $0.multilineDeadline != nil }
    }

    // MARK: Finding files

    /// Walks the include patterns: new files are tailed, and every file is checked for growth
    /// and for still being where it was (the rescan is what finds changes on filesystems that
    /// send no inotify events).
    private func rescan(initial: Bool) {
        let scan = FileScan.run(includes: includes, excludes: excludes)
        for directory in scan.directories { watch(directory) }
        for path in scan.files { discover(path, initial: initial) }
        for file in Array(files.values) {
            checkIdentity(of: file)
            if file.gone == nil { enqueueIfGrown(file) }
        }
        counters.watchedFiles.store(files.count)
        nextRescan = MonotonicClock.nowNanoseconds() + settings.globIntervalNanoseconds
    }

    private func watch(_ directory: String) {
        guard inotify != nil else { return }
        if !inotify!.watch(directory) {
            logger.warning("cannot watch a directory; its files are found by the rescan", metadata: ["source": "\(name)", "path": "\(directory)", "errno": "\(errno)"])
        }
    }

    private func handleChanges() {
        guard inotify != nil else { return }
        for change in inotify!.readChanges() {
            switch change {
            case .modified(let path):
                if let file = byPath[path] { enqueue(file) }
            case .appeared(let path):
                var status = stat()
                guard stat(path, &status) == 0 else { continue }
                if status.st_mode & S_IFMT == S_IFDIR {
                    guard includes.contains(where: { $0.mayContain(directory: path) }) else { continue }
                    let scan = FileScan.run(includes: includes, excludes: excludes, under: [path])
                    for directory in scan.directories { watch(directory) }
                    for file in scan.files { discover(file, initial: false) }
                } else if FileScan.selects(path, includes: includes, excludes: excludes) {
                    discover(path, initial: false)
                }
            case .disappeared(let path):
                if let file = byPath[path] { checkIdentity(of: file) }
            case .overflow:
                rescan(initial: false)
                for file in files.values { enqueue(file) }
            }
        }
        counters.watchedFiles.store(files.count)
    }

    /// Starts tailing the file at `path`, or notes another path to one already tailed. A file
    /// with a checkpoint (same key, same first bytes) resumes there; a new one starts at its
    /// beginning (or, at the first scan with `start_at: end`, at its end). At `max_open_files`
    /// (or the process's descriptor budget) it is not opened yet: it waits its turn, and its
    /// checkpoint is checked when it is opened.
    func discover(_ path: String, initial: Bool) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return }
        let key = FileKey(status)
        if let known = files[key] {
            if !known.paths.contains(path) { known.paths.append(path) }
            byPath[path] = known
            return
        }
        if let previous = byPath[path] { checkIdentity(of: previous) }
        let descriptor: Int32?
        switch openWithinLimits(path) {
        case .opened(let opened): descriptor = opened
        case .noRoom: descriptor = nil
        case .failed(let error):
            warnOnce(path, "cannot open a file; it is tried again at each rescan", errno: error)
            return
        }
        unopenable.remove(path)
        let size = Int64(status.st_size)
        var offset: Int64 = initial && settings.startAtEnd ? size : 0
        var sequence: UInt64 = 0
        let lineByLine = common.multiline != nil || settings.format.container != nil
        let saved = checkpoints.entry(for: key)
        // Another file once had this key: this one's events follow from it (see
        // `restartedStream`), else from the file itself.
        var stream = saved.map { Self.restartedStream(after: $0.stream, lineByLine: lineByLine) }
            ?? identityStream(for: key, path: path, lineByLine: lineByLine)
        var fingerprint = descriptor.flatMap { FileFingerprint.read($0) } ?? .empty
        // Without a descriptor the checkpoint is taken on trust here, and checked at the open
        // (`reopen`): a file that no longer starts as it did is read from its start.
        if let saved, descriptor.map({ saved.fingerprint.matches($0) }) ?? true {
            fingerprint = saved.fingerprint
            if saved.offset <= size {
                offset = saved.offset
                if (saved.stream & 1 == 1) == lineByLine { (sequence, stream) = (saved.sequence, saved.stream) }
            } else {
                counters.truncations.add(1)
                offset = 0
            }
        }
        // A symlink (`/var/log/containers/*`): its target's directory is where the writes are.
        let target = realPath(path).flatMap { $0 == path ? nil : $0 }
        if let target, let slash = target.lastIndex(of: "/") { watch(slash == target.startIndex ? "/" : String(target[..<slash])) }
        let file = TailedFile(
            key: key, path: path, fingerprint: fingerprint, stream: stream, offset: offset, sequence: sequence, settings: common,
            containerFormat: settings.format.container, metadata: metadata(for: path, target: target), now: MonotonicClock.nowNanoseconds()
        )
        files[key] = file
        // Its checkpoint is saved at the next tick even if nothing is read: a file started at its
        // end must not, after a restart, skip what was written meanwhile.
        readSinceCheckpoint = true
        byPath[path] = file
        if let target { byPath[target] = file }
        if let descriptor {
            file.descriptor = descriptor
            file.holdsDescriptorBudget = true
            openFiles += 1
            counters.openFiles.store(openFiles)
            enqueue(file)
        } else {
            file.checkpointUnverified = saved != nil
            waitForDescriptor(file)
        }
    }

    private func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// What events of the file at `path` carry: the source's labels, the path, and what a
    /// Kubernetes log path (or the symlink's `target`) says; per stream for container logs.
    func metadata(for path: String, target: String?) -> [EncodedStreamMetadata] {
        var labels = common.labels
        if !settings.fileField.isEmpty { labels.append((settings.fileField, path)) }
        let pod = KubernetesPath(path: path) ?? target.flatMap(KubernetesPath.init(path:))
        labels += pod?.labels(settings.kubernetesFields) ?? []
        let streams: [String?] = settings.format.container == nil ? [nil] : ["stdout", "stderr"]
        return streams.map { EncodedStreamMetadata(EventMetadata(host: host, sourceName: name, stream: $0, labels: labels)) }
    }

    /// Whether each path still leads to the file; when none does, the file has been renamed
    /// away or deleted, and is finished (`pollDeparted`).
    func checkIdentity(of file: TailedFile) {
        guard file.gone == nil else { return }
        var status = stat()
        file.paths.removeAll { path in
            let leads = stat(path, &status) == 0 && FileKey(status) == file.key
            if !leads, byPath[path] === file { byPath[path] = nil }
            return !leads
        }
        guard file.paths.isEmpty else { return }
        let deleted = !file.isOpen || (fstat(file.descriptor, &status) == 0 && status.st_nlink == 0)
        file.gone = deleted ? .deleted : .renamed
        file.lastActivity = MonotonicClock.nowNanoseconds()
        counters.rotations.add(deleted ? 0 : 1)
        enqueue(file)
    }

    /// The identity of a file's events when no checkpoint gives it: derived from the source,
    /// the file's device and inode and its birth time (where the filesystem records one), so
    /// that reading the file again after a crash before its first checkpoint gives its events
    /// the identities they had (an indexer stores them once), while a new file on a reused inode
    /// gets another. Its lowest bit says how the events are numbered (see `TailedFile`), so a
    /// checkpoint saved under the other way is not resumed with it.
    func identityStream(for key: FileKey, path: String, lineByLine: Bool) -> UInt64 {
        var hash = FNV1a.offsetBasis
        var source = name
        source.withUTF8 { hash = FNV1a.hash(UnsafeRawBufferPointer($0), from: hash) }
        for value in [key.device, key.inode, UInt64(bitPattern: sluice_birth_time(path))] {
            withUnsafeBytes(of: value.littleEndian) { hash = FNV1a.hash($0, from: hash) }
        }
        return Self.marked(hash, lineByLine: lineByLine)
    }

    /// The identity of the events a file holds after it started over (truncated, or another
    /// file on the inode of one checkpointed): derived from the one it had, so the same restart
    /// seen again after a crash gives the same identities.
    static func restartedStream(after previous: UInt64, lineByLine: Bool) -> UInt64 {
        var hash = FNV1a.offsetBasis
        withUnsafeBytes(of: previous.littleEndian) { hash = FNV1a.hash($0, from: hash) }
        hash = FNV1a.hash(UnsafeRawBufferPointer(start: "restart", count: 7), from: hash)
        return marked(hash, lineByLine: lineByLine)
    }

    static func marked(_ stream: UInt64, lineByLine: Bool) -> UInt64 {
        lineByLine ? stream | 1 : stream & ~1
    }

    // MARK: Reading

    func enqueue(_ file: TailedFile) {
        guard !file.isQueued else { return }
        file.isQueued = true
        queue.append(file)
    }

    private func enqueueIfGrown(_ file: TailedFile) {
        var status = stat()
        let grown = file.isOpen ? fstat(file.descriptor, &status) == 0 : stat(file.path, &status) == 0
        if grown && Int64(status.st_size) != file.readOffset { enqueue(file) }
    }

    /// Reads the queued files, each up to its turn's quantum. False when the pipeline closed.
    private func serviceQueue() -> Bool {
        var turns = queue.count
        while turns > 0, !queue.isEmpty {
            turns -= 1
            let file = queue.removeFirst()
            file.isQueued = false
            switch readAvailable(file) {
            case .closed: return false
            case .more:
                readSinceCheckpoint = true
                enqueue(file)
            case .caughtUp:
                readSinceCheckpoint = true
                // Read to its end: its descriptor goes to a file waiting for one.
                if !waiting.isEmpty && file.gone == nil { closeDescriptor(of: file) }
            }
        }
        return true
    }

    /// Files renamed away are read until `rotate_wait` passes without growth; deleted ones to
    /// their end. Then their last line (even without a newline) is published and they close.
    private func pollDeparted(now: UInt64) -> Bool {
        for file in Array(files.values) where file.gone != nil {
            let before = file.readOffset
            guard readAvailable(file) != .closed else { return false }
            let quiet = file.readOffset == before && now >= file.lastActivity + (file.gone == .renamed ? settings.rotateWaitNanoseconds : 0)
            guard quiet else { continue }
            sender.file = file
            let published = encodeLines(of: file, atEnd: true)
            sender.file = nil
            guard published else { return false }
            file.mark()
            retire(file)
        }
        return true
    }

    private func retire(_ file: TailedFile) {
        // Its checkpoint stays (until forget_after): a file that comes back under the same
        // key resumes only if it starts with the same bytes, as far as they were read.
        extendFingerprint(of: file)
        closeDescriptor(of: file)
        files[file.key] = nil
        for (path, tailed) in byPath where tailed === file { byPath[path] = nil }
        queue.removeAll { $0 === file }
        if currentMetadata?.0 == ObjectIdentifier(file) { currentMetadata = nil }
        retired.append(file)
        counters.watchedFiles.store(files.count)
    }

}
