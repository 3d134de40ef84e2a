import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Descriptors: a file source holds at most `max_open_files` of them, and they count against
/// the process's descriptor budget (`DescriptorBudget`), which leaves room for the listening
/// sources and `/metrics`. Every open goes through `openWithinLimits`: at the cap it first
/// closes the idle file quiet longest (reopened by identity when it changes); when no file is
/// idle (thousands appeared at once) the file waits its turn in `waiting`, and each file read to
/// its end gives its descriptor to the next waiting one. Files being finished after a rotation
/// keep theirs: a deleted file cannot be opened again.
extension FileTailer {
    enum OpenOutcome {
        case opened(Int32)
        /// At the cap with no idle file to close: wait for a turn.
        case noRoom
        case failed(errno: Int32)
    }

    func openWithinLimits(_ path: String, sparing reading: TailedFile? = nil) -> OpenOutcome {
        if openFiles >= settings.maxOpenFiles && !closeQuietestIdleFile(sparing: reading) { return .noRoom }
        guard DescriptorBudget.shared.acquire() else {
            // The budget is shared: an idle file of this source may make room for it.
            guard closeQuietestIdleFile(sparing: reading), DescriptorBudget.shared.acquire() else { return .noRoom }
            return open(path)
        }
        return open(path)
    }

    /// `open(2)` with a budget slot already taken (given back if the open fails).
    private func open(_ path: String) -> OpenOutcome {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = errno
            DescriptorBudget.shared.release()
            // Out of descriptors after all (something else holds them): wait, as at the cap.
            return error == EMFILE || error == ENFILE ? .noRoom : .failed(errno: error)
        }
        return .opened(descriptor)
    }

    /// Closes the idle file quiet longest: open, not being finished after a rotation, not
    /// queued for reading. False when there is none.
    @discardableResult
    func closeQuietestIdleFile(sparing reading: TailedFile? = nil) -> Bool {
        let idle = files.values.filter { $0.isOpen && $0.gone == nil && !$0.isQueued && $0 !== reading }
        guard let quietest = idle.min(by: { $0.lastActivity < $1.lastActivity }) else { return false }
        closeDescriptor(of: quietest)
        return true
    }

    /// A file that could not get a descriptor: read when one is given back.
    func waitForDescriptor(_ file: TailedFile) {
        guard !file.isWaitingForDescriptor else { return }
        file.isWaitingForDescriptor = true
        waiting.append(file)
    }

    func closeDescriptor(of file: TailedFile) {
        guard file.isOpen else { return }
        file.closeDescriptor()
        if file.holdsDescriptorBudget {
            DescriptorBudget.shared.release()
            file.holdsDescriptorBudget = false
        }
        openFiles -= 1
        counters.openFiles.store(openFiles)
        // The descriptor goes to the file that has waited longest.
        while let next = waiting.first {
            waiting.removeFirst()
            next.isWaitingForDescriptor = false
            guard files[next.key] === next else { continue }
            enqueue(next)
            break
        }
    }

    /// Opens a file that was closed for the limits (or never opened), if its path still leads
    /// to it. If it no longer starts as it did, it was truncated and written again while closed
    /// (or its inode went to a new file): it is read from its start. Without room, it waits.
    func reopen(_ file: TailedFile) -> Bool {
        guard file.gone == nil else { return false }
        let descriptor: Int32
        switch openWithinLimits(file.path, sparing: file) {
        case .opened(let opened): descriptor = opened
        case .noRoom:
            waitForDescriptor(file)
            return false
        case .failed:
            checkIdentity(of: file)
            return false
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, FileKey(status) == file.key else {
            close(descriptor)
            DescriptorBudget.shared.release()
            checkIdentity(of: file)
            return false
        }
        file.descriptor = descriptor
        file.holdsDescriptorBudget = true
        file.lastActivity = MonotonicClock.nowNanoseconds()
        openFiles += 1
        counters.openFiles.store(openFiles)
        guard !file.fingerprint.matches(descriptor) else {
            file.checkpointUnverified = false
            return true
        }
        if file.checkpointUnverified {
            // Its checkpoint was another file's (a reused inode): this one is new.
            file.checkpointUnverified = false
            file.restart(stream: Self.restartedStream(after: file.stream, lineByLine: file.readsLineByLine))
            return true
        }
        return truncated(file)
    }

    /// Logs a problem with a file once until it goes away (not at every rescan).
    func warnOnce(_ path: String, _ message: String, errno error: Int32) {
        guard unopenable.insert(path).inserted else { return }
        logger.warning("\(message)", metadata: [
            "source": "\(name)", "path": "\(path)", "errno": "\(error)", "error": "\(String(cString: strerror(error)))",
        ])
    }
}
