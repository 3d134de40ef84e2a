import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// A file as the kernel knows it: device and inode. Stable across renames; reused by a new file
/// once the old one is deleted, which is what `FileFingerprint` tells apart.
struct FileKey: Hashable, Sendable, CustomStringConvertible {
    let device: UInt64
    let inode: UInt64

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ status: stat) {
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    var description: String { "\(device):\(inode)" }
}

/// A hash of a file's first bytes (up to `maxLength`; fewer while the file is shorter). A file
/// with the same `FileKey` but other first bytes is a new file on a reused inode.
struct FileFingerprint: Equatable, Sendable {
    static let maxLength = 1024

    var length: Int
    var hash: UInt64

    static let empty = FileFingerprint(length: 0, hash: FNV1a.offsetBasis)

    /// The fingerprint of the open file's first `length` bytes (at most `maxLength`); nil when
    /// the file holds fewer (it was truncated, or is another file).
    static func read(_ descriptor: Int32, length: Int = maxLength) -> FileFingerprint? {
        var buffer = [UInt8](repeating: 0, count: min(length, maxLength))
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        if length < maxLength && count < length { return nil }
        return buffer.withUnsafeBytes { FileFingerprint(length: count, hash: FNV1a.hash(UnsafeRawBufferPointer(rebasing: $0[0..<count]))) }
    }

    /// Whether the open file starts as the file this fingerprint was taken of.
    func matches(_ descriptor: Int32) -> Bool {
        FileFingerprint.read(descriptor, length: length).map { $0 == self } ?? false
    }
}
