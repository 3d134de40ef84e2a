import Logging
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints: once a second after reading, and at shutdown, each file's checkpoint moves to
/// the last offset whose events the sinks have taken, and the checkpoint file is rewritten.
extension FileTailer {
    func checkpoint(now: UInt64) {
        nextCheckpoint = now + settings.checkpointIntervalNanoseconds
        guard readSinceCheckpoint || hasPendingMarks else { return }
        readSinceCheckpoint = false
        let seconds = Int64(EventTimestamp.nowMilliseconds() / 1000)
        var lag: Int64 = 0
        var status = stat()
        for file in files.values {
            _ = file.commitTaken(context.isTaken)
            refreshFingerprint(of: file)
            if file.isOpen, fstat(file.descriptor, &status) == 0 { lag += max(0, Int64(status.st_size) - file.readOffset) }
            record(file, seenAt: seconds)
        }
        retired.removeAll { file in
            _ = file.commitTaken(context.isTaken)
            guard !file.marks.isEmpty || !file.isRecovered else {
                forgetRecovered(file)
                return true
            }
            // Done once everything read from it is taken; until then a restart reads it again
            // from its checkpoint (found by identity, see `recoverRotatedFiles`).
            record(file, seenAt: seconds, finished: file.marks.isEmpty)
            return file.marks.isEmpty
        }
        counters.lagBytes.store(Int(lag))
        checkpoints.forget(olderThan: Int64(settings.forgetAfterNanoseconds / 1_000_000_000), now: seconds)
        save()
    }

    /// Whether some file's checkpoint waits for the sinks to take what was published.
    var hasPendingMarks: Bool {
        !retired.isEmpty || files.values.contains { !$0.marks.isEmpty }
    }

    /// At shutdown: waits (until the grace period ends) for the sinks to take everything that
    /// was published, then saves, so a restart after SIGTERM reads nothing twice.
    func finishCheckpoints() {
        let all = { [self] in Array(files.values) + retired }
        while !context.shutdown.isStopping, all().contains(where: { !$0.marks.isEmpty && !($0.commitTaken(context.isTaken) && $0.marks.isEmpty) }) {
            _ = context.shutdown.sleep(nanoseconds: 10_000_000)
        }
        let seconds = Int64(EventTimestamp.nowMilliseconds() / 1000)
        for file in files.values {
            _ = file.commitTaken(context.isTaken)
            record(file, seenAt: seconds)
        }
        for file in retired {
            _ = file.commitTaken(context.isTaken)
            if file.isRecovered && file.marks.isEmpty {
                forgetRecovered(file)
            } else {
                record(file, seenAt: seconds, finished: file.marks.isEmpty)
            }
        }
        save()
        waiting.removeAll()
        for file in Array(files.values) { closeDescriptor(of: file) }
    }

    private func record(_ file: TailedFile, seenAt seconds: Int64, finished: Bool = false) {
        var status = stat()
        let size = file.isOpen && fstat(file.descriptor, &status) == 0 ? max(Int64(status.st_size), file.readOffset) : file.readOffset
        checkpoints.update(FileCheckpoints.Entry(
            key: file.key, fingerprint: file.fingerprint, offset: file.committed.offset, sequence: file.committed.sequence,
            stream: file.stream, lastSeenSeconds: seconds, size: size, finished: finished, path: file.path
        ))
    }

    /// A file's fingerprint covers more of it as it grows (up to `FileFingerprint.maxLength`);
    /// a file whose first bytes changed under the same key was rewritten: read it again.
    private func refreshFingerprint(of file: TailedFile) {
        guard file.isOpen, file.gone == nil else { return }
        guard file.fingerprint.matches(file.descriptor) else {
            _ = truncated(file)
            enqueue(file)
            return
        }
        extendFingerprint(of: file)
    }

    func extendFingerprint(of file: TailedFile) {
        guard file.isOpen, file.fingerprint.length < FileFingerprint.maxLength,
              let longer = FileFingerprint.read(file.descriptor), longer.length > file.fingerprint.length else { return }
        file.fingerprint = longer
    }

    private func save() {
        do {
            try checkpoints.save(sourceName: name)
        } catch {
            logger.error("cannot save the file checkpoints; a restart may read some lines again", metadata: ["source": "\(name)", "error": "\(error)"])
        }
    }
}
