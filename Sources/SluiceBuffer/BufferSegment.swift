import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// One segment file of a disk buffer. Its sizes and counts change under the buffer's lock; its
/// descriptor is read and written outside it, by the appending thread (at `size` and past it)
/// and the reading thread (below `size`).
final class BufferSegment {
    let firstSequence: UInt64
    let path: String
    let descriptor: Int32
    /// Bytes that hold complete records (what may be read).
    var size: Int
    var lastSequence: UInt64?
    /// Events in its records not yet read, for counting what an eviction drops.
    var unreadEvents = 0
    /// Ranges the reader steps over (found damaged when the buffer opened).
    var damaged: [Range<Int>] = []
    /// Deleted (everything in it acknowledged, or evicted): nothing to sync any more.
    var isDeleted = false

    init(firstSequence: UInt64, path: String, descriptor: Int32, size: Int) {
        self.firstSequence = firstSequence
        self.path = path
        self.descriptor = descriptor
        self.size = size
    }

    /// Removes the file; the descriptor closes with the last reference (its space goes back to
    /// the disk then).
    func delete() {
        CrashPoints.reach(.unlink)
        unlink(path)
        isDeleted = true
    }

    deinit {
        Glibc.close(descriptor)
    }
}
