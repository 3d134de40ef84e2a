#if canImport(Glibc)
import Glibc
#endif

/// The archive sink's settings (see `ArchiveSettings(reading:)` for the keys).
public struct ArchiveSettings: Sendable {
    public var template: PathTemplate
    public var gzipLevel: Int
    public var flushIntervalNanoseconds: UInt64
    public var rotateMaxBytes: Int?
    public var rotateMaxAgeMilliseconds: Int64?
    public var retentionMaxFiles: Int?
    public var retentionMaxAgeMilliseconds: Int64?
    public var compressionThreads: Int
    public var fileMode: UInt32
    /// Uncompressed bytes per gzip member (at most; the flush interval closes members sooner).
    public var chunkBytes: Int

    public init(
        template: PathTemplate, gzipLevel: Int = 6, flushIntervalNanoseconds: UInt64 = 1_000_000_000,
        rotateMaxBytes: Int? = 100 << 20, rotateMaxAgeMilliseconds: Int64? = 3_600_000,
        retentionMaxFiles: Int? = nil, retentionMaxAgeMilliseconds: Int64? = nil,
        compressionThreads: Int = ArchiveSettings.defaultCompressionThreads, fileMode: UInt32 = 0o640, chunkBytes: Int = 1 << 20
    ) {
        self.template = template
        self.gzipLevel = gzipLevel
        self.flushIntervalNanoseconds = flushIntervalNanoseconds
        self.rotateMaxBytes = rotateMaxBytes
        self.rotateMaxAgeMilliseconds = rotateMaxAgeMilliseconds
        self.retentionMaxFiles = retentionMaxFiles
        self.retentionMaxAgeMilliseconds = retentionMaxAgeMilliseconds
        self.compressionThreads = compressionThreads
        self.fileMode = fileMode
        self.chunkBytes = chunkBytes
    }

    /// One compression thread per online core.
    public static var defaultCompressionThreads: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
