import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Where each file of one `file` source was read up to, kept in
/// `<data_dir>/files/<source>.checkpoints`.
///
/// A checkpoint is the offset just past the last line whose events the sinks have taken (see
/// `SourceContext.isTaken`), with what the file is known by: its key, its fingerprint and the
/// identity its events carry. A restart resumes every file exactly there. The file is written
/// whole to a temporary name, synced and renamed over the old one (then the directory synced),
/// so a crash leaves the old checkpoints or the new ones, never a mix.
///
/// Text, one file per line, so an operator can read it:
/// `<device> <inode> <fingerprint length> <fingerprint hash> <offset> <sequence> <stream> <last seen, unix seconds> <size> <live|done> <path>`
///
/// `size` is the file's size when last seen, so what a file held past its checkpoint is known if
/// the file is gone at the next start; `done` marks a file read to its end after it left its
/// path (nothing more can come from it). Files of version 1 (without the two) are read as done.
struct FileCheckpoints {
    struct Entry: Equatable {
        var key: FileKey
        var fingerprint: FileFingerprint
        var offset: Int64
        /// The next event's sequence (for files read line by line in order).
        var sequence: UInt64
        var stream: UInt64
        var lastSeenSeconds: Int64
        /// The file's size when last seen.
        var size: Int64
        /// Read to its end after it left its path.
        var finished: Bool
        var path: String
    }

    let path: String
    private(set) var entries: [FileKey: Entry] = [:]
    private static let header = "sluice file checkpoints v2"
    private static let firstVersionHeader = "sluice file checkpoints v1"

    init(dataDirectory: String, sourceName: String) {
        path = dataDirectory + "/files/" + Self.safeName(sourceName) + ".checkpoints"
    }

    /// Reads the saved checkpoints; a damaged line is skipped (and reported), never fatal.
    mutating func load() -> [String] {
        var problems: [String] = []
        guard let text = Self.readWhole(path) else { return problems }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let version = lines.first.map(String.init)
        guard version == Self.header || version == Self.firstVersionHeader else {
            return ["\(path): not a checkpoint file of this version; starting without checkpoints"]
        }
        let fieldCount = version == Self.header ? 11 : 9
        lines.removeFirst()
        for line in lines {
            let fields = line.split(separator: " ", maxSplits: fieldCount - 1, omittingEmptySubsequences: false)
            guard fields.count == fieldCount,
                  let device = UInt64(fields[0]), let inode = UInt64(fields[1]), let length = Int(fields[2]),
                  let hash = UInt64(fields[3], radix: 16), let offset = Int64(fields[4]), let sequence = UInt64(fields[5]),
                  let stream = UInt64(fields[6], radix: 16), let seen = Int64(fields[7]) else {
                problems.append("\(path): skipped a damaged line: \(line.prefix(200))")
                continue
            }
            var size = offset
            var finished = true
            if fieldCount == 11 {
                guard let known = Int64(fields[8]), fields[9] == "live" || fields[9] == "done" else {
                    problems.append("\(path): skipped a damaged line: \(line.prefix(200))")
                    continue
                }
                size = known
                finished = fields[9] == "done"
            }
            let key = FileKey(device: device, inode: inode)
            entries[key] = Entry(
                key: key, fingerprint: FileFingerprint(length: length, hash: hash), offset: offset, sequence: sequence,
                stream: stream, lastSeenSeconds: seen, size: size, finished: finished, path: String(fields[fieldCount - 1])
            )
        }
        return problems
    }

    func entry(for key: FileKey) -> Entry? { entries[key] }

    mutating func update(_ entry: Entry) {
        entries[entry.key] = entry
    }

    mutating func remove(_ key: FileKey) {
        entries[key] = nil
    }

    /// Drops the checkpoints of files not seen for `seconds`.
    mutating func forget(olderThan seconds: Int64, now: Int64) {
        entries = entries.filter { now - $0.value.lastSeenSeconds <= seconds }
    }

    /// Writes every checkpoint atomically. The error names the file and the system's reason.
    func save(sourceName: String) throws {
        var text = Self.header + "\n"
        for entry in entries.values.sorted(by: { $0.path < $1.path }) {
            text += "\(entry.key.device) \(entry.key.inode) \(entry.fingerprint.length) \(String(entry.fingerprint.hash, radix: 16)) "
            text += "\(entry.offset) \(entry.sequence) \(String(entry.stream, radix: 16)) \(entry.lastSeenSeconds) "
            text += "\(entry.size) \(entry.finished ? "done" : "live") \(entry.path)\n"
        }
        let directory = String(path[..<path.lastIndex(of: "/")!])
        try Directories.createParent(of: path, source: sourceName)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileSourceError(operation: "create", path: temporary, errorNumber: errno) }
        var bytes = Array(text.utf8)
        CrashPoints.reach(.write)
        let written = bytes.withUnsafeMutableBytes { raw in
            (try? OutputDescriptor.writeAll(UnsafeRawBufferPointer(raw), to: descriptor, name: temporary)) != nil
        }
        CrashPoints.reach(.sync)
        let synced = written && fsync(descriptor) == 0
        let error = errno == 0 ? EIO : errno
        close(descriptor)
        guard synced else { throw FileSourceError(operation: "write", path: temporary, errorNumber: error) }
        CrashPoints.reach(.rename)
        guard rename(temporary, path) == 0 else { throw FileSourceError(operation: "rename", path: path, errorNumber: errno) }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            CrashPoints.reach(.sync)
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// The source name as a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
    private static func safeName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    private static func readWhole(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A file source's trouble with a file, naming it and the system's reason.
struct FileSourceError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let errorNumber: Int32

    var description: String {
        "\(operation) \(path) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
    }
}
