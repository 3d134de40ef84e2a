import CLinux
import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// One run of a `program` sink's command: the pipe to its stdin, its stderr lines, and which
/// of the events written into the pipe it has actually read.
///
/// Bytes in a pipe that the reader never read vanish when it exits, so a written event is not
/// a delivered one. The process keeps the bytes of every event written but not yet known to be
/// read (at most a pipe's capacity plus one batch), and asks the kernel how much of the pipe is
/// still unread (`FIONREAD`) to tell which events have been read: those are delivered, and when
/// the program dies the rest can be written again to the next run.
final class ProgramProcess {
    enum SendOutcome {
        case sent
        /// The program stopped reading (it exited, or closed its stdin).
        case broken
        /// Shutdown's stop came while the pipe was full.
        case stopped
    }

    let pid: Int32
    let startedAt = MonotonicClock.nowNanoseconds()
    private var input: Int32
    private let errors: StandardErrorLines
    /// Bytes written into the pipe so far.
    private var written = 0
    /// The bytes written from `pendingStart` (an event's start) on; events are confirmed read
    /// from the front.
    private var pending: [UInt8] = []
    private var pendingHead = 0
    private var pendingStart = 0
    private var readAny = false
    private var exit: ChildExit?

    init(command: ProgramCommand, sinkName: String) throws(SpawnError) {
        let stdinPipe = try ProcessSpawner.makePipe()
        let stderrPipe: (read: Int32, write: Int32)
        do {
            stderrPipe = try ProcessSpawner.makePipe()
        } catch {
            close(stdinPipe.read)
            close(stdinPipe.write)
            throw error
        }
        do {
            pid = try command.spawn(standardInput: .use(stdinPipe.read), standardOutput: .inherit, standardError: .use(stderrPipe.write))
        } catch {
            for descriptor in [stdinPipe.read, stdinPipe.write, stderrPipe.read, stderrPipe.write] { close(descriptor) }
            throw error
        }
        close(stdinPipe.read)
        close(stderrPipe.write)
        input = stdinPipe.write
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        // A larger pipe lets the program read in bigger gulps; the kernel caps it.
        _ = sluice_set_pipe_size(input, 1 << 20)
        errors = StandardErrorLines(descriptor: stderrPipe.read, sinkName: sinkName, pid: pid)
    }

    deinit {
        if input >= 0 { close(input) }
    }

    /// The program's last stderr lines (at most ten).
    var lastErrorLines: [String] { errors.tail }

    /// Writes `bytes` (whole events) into the pipe, waiting while it is full. `sentBytes` says
    /// how far it got when the outcome is not `.sent`.
    func send(_ bytes: UnsafeRawBufferPointer, stop: ShutdownSignal) -> (outcome: SendOutcome, sentBytes: Int) {
        var offset = 0
        while offset < bytes.count {
            let result = write(input, bytes.baseAddress! + offset, bytes.count - offset)
            if result > 0 {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + result)]))
                offset += result
                written += result
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                guard waitUntilWritable(stop: stop) else { return (.stopped, offset) }
            default:
                return (.broken, offset)
            }
        }
        return (.sent, offset)
    }

    /// How a run of the program ended, and what became of the events written to it.
    struct Ending {
        let exit: ChildExit
        /// Read by the program since the last `confirmRead`.
        let read: (events: Int, bytes: Int)
        /// Complete events written but never read, as bytes, and how many.
        let unread: [UInt8]
        let unreadCount: Int
        /// Whether Sluice had to terminate it (it did not exit on its own in time).
        let forced: Bool
        /// Whether it read at least one event in its life.
        let readAny: Bool
    }

    /// Events (and their bytes) read by the program since the last call.
    func confirmRead() -> (events: Int, bytes: Int) {
        var unread: Int32 = 0
        guard input >= 0, ioctl(input, UInt(FIONREAD), &unread) == 0 else { return (0, 0) }
        return confirm(consumedBytes: written - Int(unread))
    }

    /// How the program ended, if it has. (Reaping happens once; the result is kept.)
    func exitIfEnded() -> ChildExit? {
        if exit == nil { exit = ChildReaper.shared.exitIfEnded(pid) }
        return exit
    }

    /// After the program exited or stopped reading: closes the pipe, gives the program a second
    /// to exit, then kills it.
    func end() -> Ending {
        let read = confirmRead()
        closeInput()
        let (exit, forced) = waitForExit(deadline: MonotonicClock.nowNanoseconds() + 1_000_000_000)
        errors.finish()
        let unread = unreadCompleteEvents()
        return Ending(exit: exit, read: read, unread: unread, unreadCount: unread.count { $0 == 0x0A }, forced: forced, readAny: readAny)
    }

    /// The end of the stream: closes the program's stdin so it sees end of input, waits up to
    /// `grace` for it to exit, then sends SIGTERM and, two seconds later, SIGKILL.
    func stop(grace: UInt64) -> Ending {
        var read = confirmRead()
        // A second reader of the same pipe, opened through /proc before the last writer closes,
        // still tells how much was left unread once the program is gone.
        let probe = open("/proc/self/fd/\(input)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        defer { if probe >= 0 { close(probe) } }
        closeInput()
        let (exit, forced) = waitForExit(deadline: MonotonicClock.nowNanoseconds() + grace)
        var unreadInPipe: Int32 = 0
        let left = probe >= 0 && ioctl(probe, UInt(FIONREAD), &unreadInPipe) == 0
            ? Int(unreadInPipe) : (exit.status == 0 ? 0 : written - pendingStart)
        let last = confirm(consumedBytes: written - left)
        read = (read.events + last.events, read.bytes + last.bytes)
        errors.finish()
        let unread = unreadCompleteEvents()
        return Ending(exit: exit, read: read, unread: unread, unreadCount: unread.count { $0 == 0x0A }, forced: forced, readAny: readAny)
    }

    private func unreadCompleteEvents() -> [UInt8] {
        guard let lastNewline = pending[pendingHead...].lastIndex(of: 0x0A) else { return [] }
        return Array(pending[pendingHead...lastNewline])
    }

    private func confirm(consumedBytes consumed: Int) -> (events: Int, bytes: Int) {
        let readUpTo = consumed - pendingStart + pendingHead
        guard readUpTo > pendingHead,
              let lastNewline = pending[pendingHead..<min(readUpTo, pending.count)].lastIndex(of: 0x0A)
        else { return (0, 0) }
        let events = pending[pendingHead...lastNewline].count { $0 == 0x0A }
        readAny = true
        let bytes = lastNewline + 1 - pendingHead
        pendingStart += bytes
        pendingHead = lastNewline + 1
        if pendingHead > 1 << 20, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        return (events, bytes)
    }

    private func waitUntilWritable(stop: ShutdownSignal) -> Bool {
        var descriptors = [pollfd(fd: input, events: Int16(POLLOUT), revents: 0)]
            + stop.stopDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while poll(&descriptors, nfds_t(descriptors.count), -1) < 0 && errno == EINTR {}
        return descriptors[0].revents != 0
    }

    private func closeInput() {
        if input >= 0 {
            close(input)
            input = -1
        }
    }

    /// Waits for the program to exit until `deadline`, then terminates it; says whether it had to.
    private func waitForExit(deadline: UInt64) -> (ChildExit, forced: Bool) {
        var signalled = false
        var killAt = UInt64.max
        while true {
            if let exit = exitIfEnded() { return (exit, signalled) }
            let now = MonotonicClock.nowNanoseconds()
            if now >= deadline && !signalled {
                kill(pid, SIGTERM)
                signalled = true
                killAt = now + 2_000_000_000
            } else if now >= killAt {
                kill(pid, SIGKILL)
                let killed = ChildReaper.shared.waitForExit(of: pid)
                exit = killed
                return (killed, true)
            }
            _ = poll(nil, 0, 10)
        }
    }
}

/// Reads a program's stderr on its own thread: each line goes into Sluice's log, tagged with
/// the sink, and the last ten are kept for the message when the program exits.
final class StandardErrorLines: Sendable {
    private let lines = Locked<[String]>([])
    private let ended = Locked(false)
    private let endedSignal = ConditionLock()

    init(descriptor: Int32, sinkName: String, pid: Int32) {
        var logger = Logger(label: "sluice.program")
        logger[metadataKey: "sink"] = .string(sinkName)
        logger[metadataKey: "pid"] = "\(pid)"
        NamedThread.detached(name: "err-\(sinkName)") { [self, logger] in
            defer {
                close(descriptor)
                endedSignal.withLock {
                    ended.withLock { $0 = true }
                    endedSignal.broadcast()
                }
            }
            var partial: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                partial.append(contentsOf: buffer[0..<count])
                while let newline = partial.firstIndex(of: 0x0A) {
                    keep(String(decoding: partial[..<newline].prefix(4096), as: UTF8.self), logger: logger)
                    partial.removeFirst(newline + 1)
                }
                if partial.count > 4096 {
                    keep(String(decoding: partial.prefix(4096), as: UTF8.self), logger: logger)
                    partial.removeAll()
                }
            }
            if !partial.isEmpty { keep(String(decoding: partial, as: UTF8.self), logger: logger) }
        }
    }

    var tail: [String] { lines.withLock { $0 } }

    /// Waits for the last lines after the program has exited (its stderr reaches end of file,
    /// unless a child of it still holds it open: then the thread is left to finish alone).
    func finish() {
        let deadline = MonotonicClock.nowNanoseconds() + 200_000_000
        endedSignal.withLock {
            while !ended.withLock({ $0 }) {
                guard endedSignal.wait(deadlineNanoseconds: deadline) else { return }
            }
        }
    }

    private func keep(_ line: String, logger: Logger) {
        logger.info("\(line)", metadata: ["stream": "stderr"])
        lines.withLock {
            $0.append(line)
            if $0.count > 10 { $0.removeFirst() }
        }
    }
}
