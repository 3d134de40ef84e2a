#if canImport(Glibc)
import Glibc
#endif

/// One Sluice per data directory: an exclusive `flock` on `<data_dir>/sluice.lock`, which holds
/// the owner's PID. The kernel releases it when the process ends, however it ends, so a crash
/// never leaves a stale lock behind.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Why the lock could not be taken.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The PID of the Sluice holding it, when another one does.
        public let holder: Int32?
    }

    /// Creates the directory when needed and takes the lock, or says who has it.
    public init(dataDirectory: String) throws(Failure) {
        path = dataDirectory + "/sluice.lock"
        if let error = BufferFiles.makeDirectories(dataDirectory) {
            throw Failure(description: "data_dir \(dataDirectory): cannot create it: \(error)", holder: nil)
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "data_dir \(dataDirectory): cannot open \(path): \(BufferFiles.describe(errno))", holder: nil)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.recordedPID(descriptor)
            close(descriptor)
            throw Failure(
                description: "data_dir \(dataDirectory) is in use by another Sluice" + (holder.map { " (PID \($0))" } ?? "")
                    + "; each Sluice needs a data_dir of its own", holder: holder
            )
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// The PID a running Sluice holding `dataDirectory` wrote, or nil when nobody holds it.
    public static func holder(of dataDirectory: String) -> Int32? {
        let descriptor = open(dataDirectory + "/sluice.lock", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else {
            flock(descriptor, LOCK_UN)
            return nil
        }
        return recordedPID(descriptor) ?? -1
    }

    private static func recordedPID(_ descriptor: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: bytes[0..<count], as: UTF8.self).trimmingNewlines)
    }
}

extension String {
    fileprivate var trimmingNewlines: String {
        String(self.prefix { $0 != "\n" })
    }
}
