import Logging
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Reading: a file's new bytes become lines, lines become events.
extension FileTailer {
    enum ReadOutcome {
        /// Read up to the file's end.
        case caughtUp
        /// There is more; the file goes to the back of the queue so others get their turn.
        case more
        /// The pipeline is closed.
        case closed
    }

    /// Reads what the file has, up to `quantum` bytes. A file that shrank is read again from 0.
    func readAvailable(_ file: TailedFile) -> ReadOutcome {
        guard file.isOpen || reopen(file) else { return .caughtUp }
        sender.file = file
        defer { sender.file = nil }
        var total = 0
        while total < Self.quantum {
            file.framing.framer.exchangeBuffer(with: &readBuffer)
            let space = file.framing.framer.spaceForRead()
            let count = pread(file.descriptor, space.baseAddress, space.count, off_t(file.readOffset))
            if count > 0 {
                file.framing.framer.didRead(count)
                file.readOffset += Int64(count)
                file.lastActivity = MonotonicClock.nowNanoseconds()
                counters.readBytes.add(count)
                total += count
                let published = encodeLines(of: file, atEnd: false)
                file.framing.framer.exchangeBuffer(with: &readBuffer)
                guard published else { return .closed }
                file.mark()
                continue
            }
            file.framing.framer.exchangeBuffer(with: &readBuffer)
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                logger.error("cannot read a file; closing it", metadata: ["source": "\(name)", "path": "\(file.path)", "errno": "\(errno)"])
                closeDescriptor(of: file)
                return .caughtUp
            }
            var status = stat()
            if fstat(file.descriptor, &status) == 0, Int64(status.st_size) < file.readOffset {
                guard truncated(file) else { return .closed }
                continue
            }
            return .caughtUp
        }
        return .more
    }

    /// The file is shorter than what was read: copied away and truncated (`copytruncate`), or
    /// rewritten. What is held is published, then the file is read from its start under a new
    /// identity. False when the pipeline is closed.
    func truncated(_ file: TailedFile) -> Bool {
        counters.truncations.add(1)
        logger.info("file truncated; reading it from the start", metadata: ["source": "\(name)", "path": "\(file.path)"])
        sender.file = file
        guard encodeLines(of: file, atEnd: true) else { return false }
        file.restart(stream: Self.restartedStream(after: file.stream, lineByLine: file.readsLineByLine))
        return true
    }

    /// Encodes the file's complete lines (at the end: also its unfinished line and whatever is
    /// held) and publishes them. False when the pipeline is closed.
    func encodeLines(of file: TailedFile, atEnd: Bool) -> Bool {
        guard file.readsLineByLine else {
            switchMetadata(to: file, stream: 0)
            guard encoding.encodeLines(from: &file.framing, atEnd: atEnd) && encoding.publish() else { return false }
            file.consumedOffset = file.readOffset - Int64(file.framing.framer.pendingBytes)
            return true
        }
        let readTime = EventTimestamp.nowMilliseconds()
        while let line = atEnd ? file.framing.framer.finish() : file.framing.framer.nextLine() {
            let start = file.consumedOffset
            file.consumedOffset = file.readOffset - Int64(file.framing.framer.pendingBytes)
            guard handle(line, startingAt: start, of: file, readTime: readTime) else { return false }
        }
        if atEnd {
            for index in file.held.indices {
                guard flushHeld(file, stream: index) else { return false }
            }
        }
        return encoding.publish()
    }

    /// One line of the file: decoded (container formats), joined, encoded.
    private func handle(_ line: FramedLine, startingAt start: Int64, of file: TailedFile, readTime: Int64) -> Bool {
        guard file.decoder != nil else {
            if line.part != 0 {
                // A part of an over-long line closes any open group and is an event of its own.
                guard closeGroup(file, stream: 0) else { return false }
                return emit(line, sequence: start, time: readTime, file: file, stream: 0)
            }
            return add(line.bytes, startingAt: start, time: readTime, file: file, stream: 0)
        }
        guard let decoded = file.decoder!.decode(line.bytes) else {
            counters.malformedContainerLines.add(1)
            return add(line.bytes, startingAt: start, time: readTime, file: file, stream: 0)
        }
        let stream = decoded.stream.rawValue
        let held = file.held[stream]
        let time = decoded.timestampMilliseconds ?? readTime
        if held.partialStart == nil && !decoded.isPartial {
            return add(decoded.message, startingAt: start, time: time, file: file, stream: stream)
        }
        if held.partialStart == nil {
            held.partialStart = start
            held.partialTime = time
        }
        held.partial.append(decoded.message)
        // A line never grows past the source's line limit: its parts go out as they are.
        guard !decoded.isPartial || held.partial.count >= common.maxLineBytes else { return true }
        return flushPartial(file, stream: stream)
    }

    /// Adds a whole message to the stream's multiline group, or encodes it.
    private func add(_ message: UnsafeRawBufferPointer, startingAt start: Int64, time: Int64, file: TailedFile, stream: Int) -> Bool {
        let held = file.held[stream]
        guard held.joiner.isEnabled else {
            return emit(FramedLine(bytes: message), sequence: start, time: time, file: file, stream: stream)
        }
        let wasOpen = held.joiner.hasOpenGroup
        let completed = held.joiner.add(message, now: MonotonicClock.nowNanoseconds())
        if completed {
            let group = held.joiner.completedGroup
            guard emit(FramedLine(bytes: group, isJoined: group.contains(0x0A)), sequence: held.groupStart ?? start, time: held.groupTime, file: file, stream: stream) else {
                return false
            }
        }
        if completed || !wasOpen {
            held.groupStart = start
            held.groupTime = time
        }
        return true
    }

    private func flushPartial(_ file: TailedFile, stream: Int) -> Bool {
        let held = file.held[stream]
        guard let start = held.partialStart else { return true }
        held.partialStart = nil
        defer { held.partial.removeAll() }
        return add(held.partial.bytes, startingAt: start, time: held.partialTime, file: file, stream: stream)
    }

    /// Publishes whatever the stream holds (the file ends, or was truncated).
    private func flushHeld(_ file: TailedFile, stream: Int) -> Bool {
        flushPartial(file, stream: stream) && closeGroup(file, stream: stream)
    }

    /// Encodes the stream's open group, if any.
    func closeGroup(_ file: TailedFile, stream: Int) -> Bool {
        let held = file.held[stream]
        guard held.joiner.close() else { return true }
        let group = held.joiner.completedGroup
        return emit(FramedLine(bytes: group, isJoined: group.contains(0x0A)), sequence: held.groupStart ?? file.consumedOffset, time: held.groupTime, file: file, stream: stream)
    }

    /// Publishes the groups whose multiline timeout has passed.
    func flushExpiredGroups(now: UInt64) -> Bool {
        for file in filesWithGroups() where (file.multilineDeadline ?? .max) <= now {
            sender.file = file
            defer { sender.file = nil }
            for (index, held) in file.held.enumerated() where (held.joiner.deadline ?? .max) <= now {
                guard closeGroup(file, stream: index) else { return false }
            }
            guard encoding.publish() else { return false }
            file.mark()
        }
        return true
    }

    private func emit(_ line: FramedLine, sequence: Int64, time: Int64, file: TailedFile, stream: Int) -> Bool {
        switchMetadata(to: file, stream: stream)
        sender.sequences.append(UInt64(sequence))
        return encoding.encode(line, readTimeMilliseconds: time)
    }

    private func switchMetadata(to file: TailedFile, stream: Int) {
        let current = (ObjectIdentifier(file), stream)
        guard currentMetadata.map({ $0 != current }) ?? true else { return }
        currentMetadata = current
        encoding.use(file.metadata[stream])
    }
}

/// Publishes a file's batches with the identities of their events (see `TailedFile`) and
/// remembers where in the ring each went, for the checkpoints.
final class FileBatchSender: BatchSending {
    private let context: SourceContext
    /// The file being read.
    var file: TailedFile?
    /// The sequences of the events encoded and not yet published (line-by-line files).
    var sequences: [UInt64] = []

    init(context: SourceContext) {
        self.context = context
    }

    func reserveOrigin(count: Int) -> EventOrigin {
        guard let file else { return context.reserveOrigin(count: count) }
        if file.readsLineByLine {
            let taken = min(count, sequences.count)
            defer { sequences.removeFirst(taken) }
            return EventOrigin(stream: file.stream, sequences: Array(sequences[0..<taken]))
        }
        defer { file.nextSequence += UInt64(count) }
        return EventOrigin(stream: file.stream, firstSequence: file.nextSequence)
    }

    func send(_ batch: PreparedBatch) -> Bool {
        guard let position = context.publishTracked(batch) else { return false }
        file?.lastPosition = position
        return true
    }
}
