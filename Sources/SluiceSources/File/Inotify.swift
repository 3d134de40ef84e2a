#if canImport(Glibc)
import Glibc
#endif

/// Directory watches through inotify: what changed, by directory and name. A directory watch
/// also reports changes to the files in it (writes, truncations), so one watch per directory
/// covers every file Sluice tails there, without polling.
struct Inotify: ~Copyable {
    enum Change {
        /// A file was written or truncated.
        case modified(path: String)
        /// A name appeared (created, or moved in).
        case appeared(path: String)
        /// A name went away (deleted, or moved out).
        case disappeared(path: String)
        /// The kernel's queue overflowed: anything may have changed.
        case overflow
    }

    let descriptor: Int32
    private var directories: [Int32: String] = [:]
    private var watchesByPath: [String: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// Nil when inotify is unavailable (the periodic rescan then finds everything).
    init?() {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    var watchCount: Int { directories.count }

    /// Watches `directory`, once. False when the kernel refused (out of watches, say).
    mutating func watch(_ directory: String) -> Bool {
        if watchesByPath[directory] != nil { return true }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR)
        let watch = inotify_add_watch(descriptor, directory, mask)
        guard watch >= 0 else { return false }
        directories[watch] = directory
        watchesByPath[directory] = watch
        return true
    }

    /// The changes queued now (none when there are none; the descriptor is non-blocking).
    mutating func readChanges() -> [Change] {
        var changes: [Change] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return changes }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let nameLength = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    let name = String(decoding: raw[nameStart..<(nameStart + nameLength)].prefix(while: { $0 != 0 }), as: UTF8.self)
                    offset = nameStart + nameLength
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        changes.append(.overflow)
                        continue
                    }
                    guard let directory = directories[watch] else { continue }
                    if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
                        directories[watch] = nil
                        watchesByPath[directory] = nil
                        continue
                    }
                    guard !name.isEmpty else { continue }
                    let path = (directory == "/" ? "" : directory) + "/" + name
                    if mask & UInt32(IN_MODIFY) != 0 { changes.append(.modified(path: path)) }
                    if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { changes.append(.appeared(path: path)) }
                    if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 { changes.append(.disappeared(path: path)) }
                }
            }
        }
    }
}
