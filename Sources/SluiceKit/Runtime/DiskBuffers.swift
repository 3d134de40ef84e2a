import SluiceBuffer
import SluiceCore

/// The disk buffers of a running Sluice: one per disk-buffered sink, by name, kept across
/// reloads (a changed sink keeps its buffer and what waits in it), all under the data_dir lock,
/// which is taken when the first one is opened.
final class DiskBuffers {
    private var lock: DataDirectoryLock?
    private(set) var byName: [String: DiskBuffer] = [:]
    /// Events each buffer held when it was opened (from an earlier run): delivered in this
    /// run on top of what its sink takes, for the sinks' accounting.
    private(set) var waitingWhenOpened: [String: Int] = [:]
    private var dataDirectory: String?

    /// Opens (or updates) the buffers `sinks` need; an error says what stops it. With
    /// `lockingDataDirectory` (a file source keeps checkpoints there) the lock is taken even
    /// when no sink has a disk buffer.
    func prepare(_ sinks: [RuntimeConfiguration.PlannedSink], dataDirectory: String, lockingDataDirectory: Bool = false) throws(DiskBufferProblem) {
        if lockingDataDirectory { try takeLock(dataDirectory) }
        for sink in sinks {
            guard let settings = sink.diskBuffer else { continue }
            if let buffer = byName[sink.name] {
                buffer.update(settings)
                continue
            }
            try takeLock(dataDirectory)
            guard dataDirectory == self.dataDirectory else {
                throw DiskBufferProblem(description: "data_dir changed from \(self.dataDirectory ?? "") to \(dataDirectory); restart Sluice to move its disk buffers")
            }
            do {
                let buffer = try DiskBuffer(
                    directory: DiskBuffer.directory(dataDirectory: dataDirectory, sink: sink.name), settings: settings, sinkName: sink.name
                )
                byName[sink.name] = buffer
                waitingWhenOpened[sink.name] = buffer.waitingEvents
            } catch {
                throw DiskBufferProblem(description: "sink \"\(sink.name)\": \(error.description)")
            }
        }
    }

    private func takeLock(_ dataDirectory: String) throws(DiskBufferProblem) {
        guard lock == nil else { return }
        do {
            lock = try DataDirectoryLock(dataDirectory: dataDirectory)
            self.dataDirectory = dataDirectory
        } catch {
            throw DiskBufferProblem(description: error.description)
        }
    }

    /// Syncs every buffer and records where each one's delivery resumes.
    func closeAll() {
        for buffer in byName.values { buffer.close() }
    }

    /// Events waiting in each buffer, by sink (those holding any).
    var waiting: [String: Int] {
        byName.compactMapValues { $0.waitingEvents > 0 ? $0.waitingEvents : nil }
    }
}

struct DiskBufferProblem: Error, CustomStringConvertible {
    let description: String
}
