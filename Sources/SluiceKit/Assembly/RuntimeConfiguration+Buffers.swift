import SluiceBuffer
import SluiceConfig
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Where a sink keeps what it has not delivered yet.
enum SinkBufferType: String, CaseIterable {
    /// The ring alone (the default): a full `block` sink holds the sources back.
    case memory
    /// A disk buffer under `data_dir`: the sources are held back only when it is full.
    case disk
}

extension RuntimeConfiguration {
    /// `sinks.<name>.buffer`:
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `type` | `memory`, `disk` | `memory` | where undelivered events wait |
    /// | `max_bytes` | size | `1GiB` | disk only: the most its segments take, honoured within one segment (1/16 of it, 1–64 MiB) |
    /// | `sync` | `always`, `interval`, `never` | `interval` | disk only: when a batch counts as buffered (after `fdatasync`; synced every interval; left to the kernel) |
    /// | `sync_interval` | duration | `1s` | disk only |
    ///
    /// The sink's `when_full` applies to a disk buffer: `block` holds the ring when it is full,
    /// `drop_newest` refuses new batches (`buffer_full`), `drop_oldest` deletes its oldest
    /// segment (`buffer_overrun`).
    static func readBuffer(_ sink: ConfigReader, whenFull: WhenFull) -> DiskBufferSettings? {
        let section = sink.section("buffer")
        defer { section.rejectUnknownKeys() }
        guard section.choice("type", default: SinkBufferType.memory) == .disk else {
            for key in ["max_bytes", "sync", "sync_interval"] where section.contains(key) {
                section.reportInvalid(key, "applies to a disk buffer; set type: disk")
            }
            return nil
        }
        return DiskBufferSettings(
            maxBytes: section.size("max_bytes", default: 1 << 30, range: (16 << 20)...(1 << 50)),
            sync: section.choice("sync", default: DiskBufferSettings.Sync.interval),
            syncIntervalNanoseconds: section.duration("sync_interval", default: 1_000_000_000, minimum: 10_000_000),
            whenFull: whenFull
        )
    }

    /// `ring.max_bytes` (what the ring between sources and sinks may hold), also read under its
    /// old name `buffer.max_bytes`, with a notice: a sink's own buffer is `sinks.<name>.buffer`.
    static func readRingSize(_ reader: ConfigReader, context: ConfigContext) -> Int {
        let range = (1 << 20)...(16 << 30)
        let ring = reader.section("ring")
        let chosen = ring.contains("max_bytes")
        var size = ring.size("max_bytes", default: 8 << 20, range: range)
        ring.rejectUnknownKeys()
        if reader.contains("buffer") {
            let legacy = reader.section("buffer")
            let old = legacy.size("max_bytes", default: size, range: range)
            legacy.rejectUnknownKeys()
            if !chosen { size = old }
            context.notice("buffer.max_bytes is the ring's size, now named ring.max_bytes (a sink's own buffer is sinks.<name>.buffer); the old name still works" + (chosen ? ", but ring.max_bytes is set and wins" : ""))
        }
        return size
    }

    /// `data_dir` (`/var/lib/sluice`): where disk buffers and file checkpoints live, locked by
    /// one Sluice. Checked only when something keeps state there: it must be a directory Sluice
    /// can write, or one it can create.
    static func checkDataDirectory(_ path: String, reader: ConfigReader, needed: Bool) -> String {
        guard needed else { return path }
        if let problem = writableDirectoryProblem(path) { reader.reportInvalid("data_dir", problem) }
        return path
    }

    private static func writableDirectoryProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "\(path): give an absolute path" }
        var status = stat()
        var candidate = path
        while stat(candidate, &status) != 0 {
            guard let slash = candidate.lastIndex(of: "/"), slash != candidate.startIndex else {
                candidate = "/"
                break
            }
            candidate = String(candidate[..<slash])
        }
        if candidate == path && (status.st_mode & S_IFMT) != S_IFDIR { return "\(path) exists and is not a directory" }
        guard access(candidate, W_OK | X_OK) == 0 else {
            return candidate == path ? "\(path) is not writable by this user" : "\(path) does not exist and \(candidate) is not writable to create it"
        }
        return nil
    }
}
