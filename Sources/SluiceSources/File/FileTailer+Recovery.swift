import CZlib
import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Files rotated while Sluice was stopped.
///
/// A checkpoint names a file by identity (device and inode, and a fingerprint of its first
/// bytes), not by path. At start, a file that was still being read when Sluice stopped
/// (`live`) and whose identity is no longer at any path the globs found was rotated: renamed
/// (`create`), copied before its path was truncated (`copytruncate`), or compressed
/// (`compress`). It is looked for in its directory, whatever the globs say:
///
/// 1. a file with its device and inode and the same first bytes (renamed);
/// 2. a file with the same first bytes, at least as long as the checkpoint (a copy);
/// 3. a `.gz` whose decompressed first bytes are the same (compressed), decompressed into
///    `data_dir/files/<source>.recovered/` to be read.
///
/// The file found is read from its checkpoint to its end, under the identity its events had,
/// then forgotten. A file that cannot be found is named in a warning with what it held past its
/// checkpoint when last seen, counted (`sluice_file_lost_bytes_total`, `lost_file_bytes` in the
/// exit summary) and forgotten. Vector and Fluent Bit lose such a file's unread end without a
/// word; a sidecar restarted by its pod, or a node rebooted past a rotation, is how it happens.
extension FileTailer {
    func recoverRotatedFiles() {
        let unfinished = checkpoints.entries.values.filter { !$0.finished }.sorted { $0.path < $1.path }
        for entry in unfinished {
            if let tailed = files[entry.key], tailed.fingerprint == entry.fingerprint { continue }
            if let found = findRotated(entry) {
                adopt(found, entry: entry)
            } else {
                reportLost(entry)
            }
            // The file at the entry's key (if any) is another file now; its own checkpoint
            // replaces this one at the next save.
            if files[entry.key] == nil { checkpoints.remove(entry.key) }
        }
    }

    /// A file found for a checkpoint: its path, an open descriptor, and the decompressed copy
    /// made for it (to be removed once read).
    struct RotatedFile {
        /// Where the file is now (for a `.gz`, the compressed file): what its events carry.
        var path: String
        var descriptor: Int32
        var extractedCopy: String?
    }

    private func findRotated(_ entry: FileCheckpoints.Entry) -> RotatedFile? {
        let slash = entry.path.lastIndex(of: "/") ?? entry.path.startIndex
        let directory = slash == entry.path.startIndex ? "/" : String(entry.path[..<slash])
        let names = directoryNames(in: directory)
        var candidates: [(path: String, status: stat)] = []
        for name in names {
            let path = directory + "/" + name
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            candidates.append((path, status))
        }
        // Renamed: the same device and inode, still starting as it did.
        if let same = candidates.first(where: { FileKey($0.status) == entry.key }),
           let found = open(same.path, matching: entry, minimumSize: 0) {
            return found
        }
        // Copied: another file starting the same way, as long as what was read of it.
        for candidate in candidates where files[FileKey(candidate.status)] == nil && !candidate.path.hasSuffix(".gz") {
            guard Int64(candidate.status.st_size) >= entry.offset, let found = open(candidate.path, matching: entry, minimumSize: entry.offset) else { continue }
            return found
        }
        // Compressed: a .gz whose contents start the same way.
        for candidate in candidates where candidate.path.hasSuffix(".gz") {
            guard GzipPrefix.read(candidate.path, length: entry.fingerprint.length).map({ prefix in
                prefix.withUnsafeBytes { FileFingerprint(length: $0.count, hash: FNV1a.hash($0)) } == entry.fingerprint
            }) == true else { continue }
            if let found = extract(candidate.path, for: entry) { return found }
        }
        return nil
    }

    /// Opens `path` if it starts with the entry's fingerprint and holds at least `minimumSize`.
    private func open(_ path: String, matching entry: FileCheckpoints.Entry, minimumSize: Int64) -> RotatedFile? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard entry.fingerprint.matches(descriptor), fstat(descriptor, &status) == 0, Int64(status.st_size) >= minimumSize else {
            close(descriptor)
            return nil
        }
        return RotatedFile(path: path, descriptor: descriptor, extractedCopy: nil)
    }

    /// Decompresses a rotated `.gz` into the data directory, to be read like the file it was.
    private func extract(_ path: String, for entry: FileCheckpoints.Entry) -> RotatedFile? {
        let directory = settings.dataDirectory + "/files/" + name + ".recovered"
        let copy = directory + "/" + String(path.split(separator: "/").last ?? "file").dropLast(3) + ".\(entry.key.inode)"
        do {
            try Directories.createParent(of: copy, source: name)
            try GzipPrefix.decompress(path, to: copy)
        } catch {
            logger.error("cannot decompress a rotated file to read its unread end", metadata: [
                "source": "\(name)", "path": "\(path)", "error": "\(error)",
            ])
            unlink(copy)
            return nil
        }
        guard var found = open(copy, matching: entry, minimumSize: entry.offset) else {
            unlink(copy)
            return nil
        }
        found.extractedCopy = copy
        found.path = path
        return found
    }

    /// Reads the file found from the entry's checkpoint to its end, under the entry's identity.
    private func adopt(_ found: RotatedFile, entry: FileCheckpoints.Entry) {
        var status = stat()
        fstat(found.descriptor, &status)
        let lineByLine = common.multiline != nil || settings.format.container != nil
        var (sequence, stream) = (UInt64(0), Self.restartedStream(after: entry.stream, lineByLine: lineByLine))
        if (entry.stream & 1 == 1) == lineByLine { (sequence, stream) = (entry.sequence, entry.stream) }
        let file = TailedFile(
            key: FileKey(status), path: found.path, fingerprint: entry.fingerprint, stream: stream, offset: entry.offset, sequence: sequence,
            settings: common, containerFormat: settings.format.container, metadata: metadata(for: found.path, target: nil),
            now: MonotonicClock.nowNanoseconds()
        )
        file.descriptor = found.descriptor
        file.holdsDescriptorBudget = DescriptorBudget.shared.acquire()
        file.gone = .deleted
        file.isRecovered = true
        file.extractedCopy = found.extractedCopy
        openFiles += 1
        files[file.key] = file
        readSinceCheckpoint = true
        enqueue(file)
        counters.recoveredFiles.add(1)
        counters.openFiles.store(openFiles)
        logger.info("found a file rotated while Sluice was stopped; reading its unread end", metadata: [
            "source": "\(name)", "path": "\(found.path)", "was": "\(entry.path)", "from_offset": "\(entry.offset)",
            "bytes": "\(max(0, Int64(status.st_size) - entry.offset))",
        ])
    }

    private func reportLost(_ entry: FileCheckpoints.Entry) {
        let unread = max(0, entry.size - entry.offset)
        counters.lostBytes.add(Int(unread))
        context.counters.lostInputBytes.add(Int(unread))
        logger.warning("a file being read when Sluice stopped is gone: rotated away and not found in its directory (renamed, copied or compressed) by its identity; what it held past its checkpoint is lost", metadata: [
            "source": "\(name)", "path": "\(entry.path)", "file": "\(entry.key)", "read_to_offset": "\(entry.offset)",
            "unread_bytes": "\(unread)", "note": "unread_bytes is what it held when last seen; anything written to it after Sluice stopped is lost too",
        ])
    }

    /// A recovered file read to its end and taken: its checkpoint goes, and the copy made of
    /// it, if any.
    func forgetRecovered(_ file: TailedFile) {
        checkpoints.remove(file.key)
        if let copy = file.extractedCopy { unlink(copy) }
    }
}

/// Reading `.gz` files with zlib's gz* functions (which also read concatenated members).
enum GzipPrefix {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The first `length` decompressed bytes (fewer if the file holds fewer); nil if unreadable.
    static func read(_ path: String, length: Int) -> [UInt8]? {
        guard let file = gzopen(path, "rb") else { return nil }
        defer { gzclose(file) }
        var bytes = [UInt8](repeating: 0, count: length)
        let count = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
        guard count >= 0 else { return nil }
        return Array(bytes[0..<Int(count)])
    }

    /// Decompresses `path` into a new file at `destination` (replaced if there), synced.
    static func decompress(_ path: String, to destination: String) throws {
        guard let file = gzopen(path, "rb") else { throw Failure(description: "cannot open \(path)") }
        defer { gzclose(file) }
        let output = Glibc.open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw Failure(description: "cannot create \(destination): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if count < 0 { throw Failure(description: "\(path) is damaged") }
            if count == 0 { break }
            try buffer.withUnsafeBytes { try OutputDescriptor.writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)]), to: output, name: destination) }
        }
        fsync(output)
    }
}
