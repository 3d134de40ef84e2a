import SluiceCore
import CZlib

#if canImport(Glibc)
import Glibc
#endif

/// The files of one sink's disk buffer, under `<data_dir>/buffers/<sink>/`:
///
/// - `<first record's sequence, 16 hex digits>.segment`: records appended in order;
/// - `position`: the first record not yet acknowledged (16 bytes: magic, CRC-32, sequence),
///   replaced atomically when synced (written beside, synced, renamed, directory synced), and
///   overwritten in place between syncs under `sync: interval` and `never`;
/// - `quarantine/`: damaged bytes and files moved out of the way, for a person to look at.
enum BufferFiles {
    static let segmentSuffix = ".segment"
    static let positionMagic: UInt32 = 0x3153_4F50  // "POS1"

    /// A sink's buffer directory (its name made safe for a path).
    static func directory(dataDirectory: String, sink: String) -> String {
        let safe = String(sink.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return dataDirectory + "/buffers/" + (safe.isEmpty || safe.hasPrefix(".") ? "_" + safe : safe)
    }

    static func segmentName(firstSequence: UInt64) -> String {
        let hex = String(firstSequence, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + segmentSuffix
    }

    /// The segments in a directory, oldest first, by the sequence their name carries.
    static func segments(in directory: String) -> [(firstSequence: UInt64, path: String)] {
        entries(of: directory).compactMap { name -> (UInt64, String)? in
            guard name.hasSuffix(segmentSuffix), let sequence = UInt64(name.dropLast(segmentSuffix.count), radix: 16) else { return nil }
            return (sequence, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    static func entries(of directory: String) -> [String] { directoryNames(in: directory) }

    // MARK: Position

    enum StoredPosition: Equatable {
        case missing
        case garbled
        case sequence(UInt64)
    }

    static func readPosition(in directory: String) -> StoredPosition {
        let descriptor = open(directory + "/position", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return errno == ENOENT ? .missing : .garbled }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 17)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count == 16 else { return .garbled }
        return bytes.withUnsafeBytes { raw in
            let magic = raw.loadUnaligned(as: UInt32.self).littleEndian
            let stored = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let sequence = UnsafeRawBufferPointer(rebasing: raw[8..<16])
            guard magic == positionMagic, stored == BufferRecord.checksum(sequence) else { return .garbled }
            return .sequence(sequence.loadUnaligned(as: UInt64.self).littleEndian)
        }
    }

    /// The position file's 16 bytes for `sequence`.
    static func positionBytes(_ sequence: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: positionMagic.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
            let checksum = BufferRecord.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<16]))
            raw.storeBytes(of: checksum.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        return bytes
    }

    /// Overwrites the position file in place, without a sync: one `pwrite` into the page cache,
    /// which a killed process cannot tear. `descriptor` is the file opened for writing (opened
    /// here, and created, when negative). Returns an error description, or nil.
    static func overwritePosition(_ sequence: UInt64, in directory: String, descriptor: inout Int32) -> String? {
        if descriptor < 0 {
            descriptor = open(directory + "/position", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return "cannot open \(directory)/position: \(describe(errno))" }
        }
        let written = positionBytes(sequence).withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return written == 16 ? nil : "cannot write \(directory)/position: \(describe(written < 0 ? errno : EIO))"
    }

    /// Replaces the position file; `durable` syncs the file and the directory around the
    /// rename. Returns an error description, or nil.
    static func writePosition(_ sequence: UInt64, in directory: String, durable: Bool) -> String? {
        let bytes = positionBytes(sequence)
        let temporary = directory + "/position.new"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return "cannot write \(temporary): \(describe(errno))" }
        CrashPoints.reach(.write)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if durable { CrashPoints.reach(.sync) }
        let error = written == 16 ? (durable && fdatasync(descriptor) != 0 ? errno : 0) : (written < 0 ? errno : EIO)
        close(descriptor)
        guard error == 0 else { return "cannot write \(temporary): \(describe(error))" }
        CrashPoints.reach(.rename)
        guard rename(temporary, directory + "/position") == 0 else { return "cannot replace \(directory)/position: \(describe(errno))" }
        return durable ? syncDirectory(directory) : nil
    }

    // MARK: Files and directories

    /// `fsync` of a directory, so entries just made or renamed in it survive a crash.
    static func syncDirectory(_ directory: String) -> String? {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return "cannot open \(directory): \(describe(errno))" }
        defer { close(descriptor) }
        CrashPoints.reach(.sync)
        return fsync(descriptor) == 0 ? nil : "cannot sync \(directory): \(describe(errno))"
    }

    /// `mkdir -p`; an error description, or nil.
    static func makeDirectories(_ path: String) -> String? {
        var status = stat()
        if stat(path, &status) == 0 { return (status.st_mode & S_IFMT) == S_IFDIR ? nil : "\(path) exists and is not a directory" }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex, let error = makeDirectories(String(path[..<slash])) {
            return error
        }
        guard mkdir(path, 0o750) == 0 || errno == EEXIST else { return "cannot create \(path): \(describe(errno))" }
        return nil
    }

    /// Copies `range` of `path` into the sink's quarantine (what was damaged, kept for a
    /// person), or moves the whole file there when `range` is nil. Returns where it went.
    @discardableResult
    static func quarantine(_ path: String, range: Range<Int>? = nil, in directory: String) -> String {
        let target = directory + "/quarantine"
        _ = makeDirectories(target)
        let name = String(path.split(separator: "/").last ?? "file")
        guard let range else {
            let destination = target + "/" + name
            if rename(path, destination) != 0 { unlink(path) }
            return destination
        }
        let destination = target + "/\(name)@\(range.lowerBound)-\(range.upperBound)"
        let source = open(path, O_RDONLY | O_CLOEXEC)
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        defer {
            if source >= 0 { close(source) }
            if output >= 0 { close(output) }
        }
        guard source >= 0, output >= 0 else { return destination }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, min($0.count, range.upperBound - offset), off_t(offset)) }
            guard count > 0 else { break }
            _ = buffer.withUnsafeBytes { write(output, $0.baseAddress, count) }
            offset += count
        }
        return destination
    }

    static func describe(_ error: Int32) -> String {
        "\(String(cString: strerror(error))) (errno \(error))"
    }
}
