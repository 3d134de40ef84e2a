import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Where events the server rejected for good go: NDJSON, one line per event,
/// `{"@timestamp":…,"sink":…,"status":400,"reason":"…","event":{…}}`, appended.
final class DeadLetterFile: Sendable {
    let path: String
    private let sinkName: String
    private let descriptor = Locked<Int32>(-1)
    private let logger = Logger(label: "sluice.sink")

    init(path: String, sinkName: String) {
        self.path = path
        self.sinkName = sinkName
    }

    deinit {
        descriptor.withLock { if $0 >= 0 { close($0) } }
    }

    /// Appends the events; false when the file could not be written (logged).
    func write(_ entries: [(status: Int, reason: String, event: UnsafeRawBufferPointer)]) -> Bool {
        var line = ByteWriter(capacity: 4096)
        let now = EventTimestamp.format(EventTimestamp.nowMilliseconds())
        for entry in entries {
            line.append("{\"@timestamp\":\"")
            line.append(now)
            line.append("\",\"sink\":")
            line.appendJSONString(sinkName)
            line.append(",\"status\":")
            line.append(decimal: entry.status)
            line.append(",\"reason\":")
            line.appendJSONString(entry.reason)
            line.append(",\"event\":")
            line.append(entry.event)
            line.append("}\n")
        }
        return descriptor.withLock { descriptor in
            if descriptor < 0 {
                try? ArchiveDirectories.create(parentOf: path, sinkName: sinkName)
                descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            }
            guard descriptor >= 0 else {
                logger.error("cannot open the dead-letter file", metadata: ["sink": "\(sinkName)", "path": "\(path)", "errno": "\(errno)"])
                return false
            }
            do {
                try OutputDescriptor.writeAll(line.bytes, to: descriptor, name: path)
                return true
            } catch {
                logger.error("cannot write the dead-letter file", metadata: ["sink": "\(sinkName)", "error": "\(error)"])
                return false
            }
        }
    }
}
