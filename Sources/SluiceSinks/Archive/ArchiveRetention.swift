import Logging
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Deletes old archive files: beyond `retention.max_files` (newest kept) and older than
/// `retention.max_age`, among the files of the same source in the directory of the file just
/// closed that the template could have named. Open files are never deleted.
struct ArchiveRetention {
    let settings: ArchiveSettings
    let sinkName: String
    private let logger = Logger(label: "sluice.sink")

    init(settings: ArchiveSettings, sinkName: String) {
        self.settings = settings
        self.sinkName = sinkName
    }

    func apply(around path: String, source: String, host: String, keeping open: Set<String>, now: Int64) {
        guard settings.retentionMaxFiles != nil || settings.retentionMaxAgeMilliseconds != nil else { return }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var candidates: [(path: String, modified: Int64)] = []
        for name in Self.entries(of: directory) where settings.template.matchesFileName(name, source: source, host: host) {
            let full = directory + "/" + name
            guard !open.contains(full) else { continue }
            var status = stat()
            guard stat(full, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            candidates.append((full, Int64(status.st_mtim.tv_sec) * 1000 + Int64(status.st_mtim.tv_nsec) / 1_000_000))
        }
        candidates.sort { $0.modified > $1.modified }
        for (index, candidate) in candidates.enumerated() {
            let tooMany = settings.retentionMaxFiles.map { index >= $0 } ?? false
            let tooOld = settings.retentionMaxAgeMilliseconds.map { now - candidate.modified > $0 } ?? false
            guard tooMany || tooOld else { continue }
            if unlink(candidate.path) == 0 {
                logger.info("archive file removed by retention", metadata: ["sink": "\(sinkName)", "path": "\(candidate.path)", "reason": "\(tooMany ? "max_files" : "max_age")"])
            }
        }
    }

    static func entries(of directory: String) -> [String] { directoryNames(in: directory) }
}
