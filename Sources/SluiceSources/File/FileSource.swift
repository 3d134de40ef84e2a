public import SluiceCore

/// Tails files: the logs apps write to disk, and container runtimes' logs on a node.
///
/// Files are found by glob (`include`, `exclude`), by inotify on their directories and by a
/// periodic rescan. A file is known by device, inode and a fingerprint of its first bytes, so
/// renames keep it and a reused inode does not fool it. Rename rotation: the old file is read
/// until `rotate_wait` passes without it growing, the new one from its start. `copytruncate`:
/// a file that shrinks is read again from 0 (lines written between the copy and the truncation
/// are the ones at risk: they are in the copy, which is not read). Checkpoints in `data_dir`
/// resume each file where the sinks had taken its events (see `FileTailer`, `TailedFile`).
public final class FileSource: Source, SettingsCarrying {
    public let name: String
    public let fileSettings: FileSourceSettings
    public let settings: SourceSettings
    public let host: String
    let counters = FileSourceCounters()

    public init(name: String, settings: FileSourceSettings, common: SourceSettings, host: String) {
        self.name = name
        fileSettings = settings
        self.settings = common
        self.host = host
    }

    public func run(_ context: SourceContext) throws {
        FileTailer(name: name, settings: fileSettings, common: settings, host: host, context: context, counters: counters).run()
    }

    public func metricSamples() -> [MetricSample] {
        let labels = [("source", name)]
        return [
            MetricSample("sluice_file_watched_files", .gauge, help: "Files the source tails.", labels: labels, value: Double(counters.watchedFiles.current)),
            MetricSample("sluice_file_open_files", .gauge, help: "Descriptors the source holds open.", labels: labels, value: Double(counters.openFiles.current)),
            MetricSample("sluice_file_read_bytes_total", .counter, help: "Bytes read from files.", labels: labels, value: Double(counters.readBytes.current)),
            MetricSample("sluice_file_lag_bytes", .gauge, help: "Bytes behind the ends of the files (as of the last checkpoint).", labels: labels, value: Double(counters.lagBytes.current)),
            MetricSample("sluice_file_rotations_total", .counter, help: "Files renamed away while tailed.", labels: labels, value: Double(counters.rotations.current)),
            MetricSample("sluice_file_truncations_total", .counter, help: "Files that shrank and were read again from the start.", labels: labels, value: Double(counters.truncations.current)),
            MetricSample("sluice_file_lost_bytes_total", .counter, help: "Bytes past a checkpoint in files that were gone at a start (rotated away and deleted while Sluice was stopped).", labels: labels, value: Double(counters.lostBytes.current)),
            MetricSample("sluice_file_recovered_files_total", .counter, help: "Files rotated away while Sluice was stopped, found by identity at a start and read from their checkpoints.", labels: labels, value: Double(counters.recoveredFiles.current)),
            MetricSample("sluice_file_malformed_container_lines_total", .counter, help: "Lines of cri or docker files that did not follow the format (kept whole).", labels: labels, value: Double(counters.malformedContainerLines.current)),
        ]
    }
}

/// What a file source counts, read by the metrics endpoint from another thread.
final class FileSourceCounters: Sendable {
    let watchedFiles = Gauge()
    let openFiles = Gauge()
    let lagBytes = Gauge()
    let readBytes = Counter()
    let rotations = Counter()
    let truncations = Counter()
    let malformedContainerLines = Counter()
    let lostBytes = Counter()
    let recoveredFiles = Counter()
}
