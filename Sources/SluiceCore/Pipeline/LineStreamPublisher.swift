import SluiceSync

/// The common path of every stream source: bytes in, framed lines (joined by the source's
/// multiline rule, if any) encoded as events, one batch published per read. One publisher per
/// stream (a wrapped app's stdout and stderr are two), used by one thread. Socket servers use
/// `StreamFraming` per connection with one shared `BatchEncoding` instead.
public final class LineStreamPublisher {
    private let context: SourceContext
    private var framing: StreamFraming
    private var encoding: BatchEncoding

    public init(
        context: SourceContext, format: InputFormat, metadata: EventMetadata, maxLineBytes: Int,
        multiline: MultilineSettings? = nil, framing: Framing = .newline, readSize: Int = 256 * 1024
    ) {
        self.context = context
        self.framing = StreamFraming(maxLineBytes: maxLineBytes, readSize: readSize, framing: framing, multiline: multiline)
        encoding = BatchEncoding(context: context, format: format, metadata: metadata, readSize: readSize)
    }

    /// Where the next read goes; follow with `didRead(_:)`.
    public func spaceForRead() -> UnsafeMutableRawBufferPointer {
        framing.framer.spaceForRead()
    }

    /// Publishes the complete lines the last read completed. False when the pipeline is closed.
    public func didRead(_ byteCount: Int) -> Bool {
        framing.framer.didRead(byteCount)
        return encoding.encodeLines(from: &framing, atEnd: false) && encoding.publish()
    }

    /// Adds bytes that did not come from a read into `spaceForRead()`.
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        framing.framer.append(bytes)
        return encoding.encodeLines(from: &framing, atEnd: false) && encoding.publish()
    }

    /// The input ended: publishes a last line that had no newline, and any open multiline group.
    public func finish() -> Bool {
        encoding.encodeLines(from: &framing, atEnd: true) && encoding.publish()
    }

    /// Publishes `bytes` as exactly one event (a datagram), whatever newlines it holds.
    public func publishMessage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        encoding.encodeMessage(bytes)
        return encoding.publish()
    }

    /// Milliseconds until an open multiline group times out; nil when none is open.
    public func multilineDeadlineMilliseconds() -> Int? {
        framing.multilineDeadlineMilliseconds()
    }

    /// Publishes a multiline group whose timeout has passed. False when the pipeline is closed.
    public func flushExpiredMultiline() -> Bool {
        guard framing.multilineGroupExpired() else { return true }
        encoding.closeGroup(of: &framing)
        return encoding.publish()
    }
}

/// One stream's framer and multiline joiner.
public struct StreamFraming: ~Copyable {
    public var framer: LineFramer
    var joiner: MultilineJoiner

    public init(
        maxLineBytes: Int, readSize: Int, framing: Framing = .newline, multiline: MultilineSettings?, initialCapacity: Int? = nil
    ) {
        framer = LineFramer(maxLineBytes: maxLineBytes, readSize: readSize, framing: framing, initialCapacity: initialCapacity)
        joiner = MultilineJoiner(settings: multiline)
    }

    /// Milliseconds until an open multiline group times out; nil when none is open.
    public func multilineDeadlineMilliseconds() -> Int? {
        guard let deadline = joiner.deadline else { return nil }
        let now = MonotonicClock.nowNanoseconds()
        return deadline <= now ? 0 : Int((deadline - now) / 1_000_000) + 1
    }

    public func multilineGroupExpired() -> Bool {
        guard let deadline = joiner.deadline else { return false }
        return MonotonicClock.nowNanoseconds() >= deadline
    }
}

/// Where a source's batches go when the source numbers and tracks them itself (the file source
/// gives events identities from their files and remembers where each batch went in the ring);
/// without one, batches are published through the source's context.
public protocol BatchSending: AnyObject {
    /// The identities of the next `count` events encoded, in order.
    func reserveOrigin(count: Int) -> EventOrigin
    /// Publishes a batch numbered by `reserveOrigin` and prepared by the context; false when
    /// the pipeline is closed.
    func send(_ batch: PreparedBatch) -> Bool
}

/// An encoder and the batch it fills, shared by every stream of one source thread, so many
/// connections make few, full batches. A value, so the per-line loop runs on it directly.
public struct BatchEncoding: ~Copyable {
    private let context: SourceContext
    private let sender: (any BatchSending)?
    /// Metadata switched to since the start (`use(_:)`), for a helper started later.
    private var switchedMetadata: EncodedStreamMetadata?
    private var encoder: EventEncoder
    private var builder: EventBatchBuilder
    private let initialCapacity: Int
    /// A batch is published early once it holds this much, so a 100 MB burst never becomes one
    /// 100 MB batch.
    private let maxBatchBytes: Int
    private let format: InputFormat
    private let metadata: EventMetadata
    /// The second core's encoder, started on the first read of many lines.
    private var helper: HelperEncoder?
    private var lines: [FramedLine] = []
    /// Where an `auto` trace found within one read is joined.
    private var joined = ByteWriter(capacity: 1024)

    public init(
        context: SourceContext, format: InputFormat, metadata: EventMetadata, readSize: Int = 256 * 1024,
        sender: (any BatchSending)? = nil
    ) {
        self.context = context
        self.sender = sender
        self.format = format
        self.metadata = metadata
        encoder = EventEncoder(format: format, metadata: metadata)
        initialCapacity = readSize + readSize / 2
        maxBatchBytes = max(readSize * 2, 64 * 1024)
        builder = EventBatchBuilder(byteCapacity: initialCapacity)
    }

    deinit {
        helper?.stop()
    }

    /// Encodes the stream's complete lines (at the end, also the unterminated last one and any
    /// open group), publishing whenever the batch fills. False when the pipeline is closed.
    public mutating func encodeLines(from stream: inout StreamFraming, atEnd: Bool) -> Bool {
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        let hints = context.transformHints()
        encoder.fuse(hints.fusedShaping)
        if !atEnd && !stream.joiner.isEnabled { return encodeSplitting(&stream.framer, hints: hints) }
        if !atEnd && stream.joiner.isAuto { return encodeJoiningTraces(&stream, hints: hints) }
        let now = stream.joiner.isEnabled ? MonotonicClock.nowNanoseconds() : 0
        while let line = atEnd ? stream.framer.finish() : stream.framer.nextLine() {
            if stream.joiner.isEnabled {
                // A part of an over-long line is never joined: it closes the open group.
                let completed = line.part == 0 ? stream.joiner.add(line.bytes, now: now) : stream.joiner.close()
                if completed { encodeGroup(stream.joiner.completedGroup) }
                if line.part != 0 { encoder.encode(line, into: &builder) }
            } else {
                encoder.encode(line, into: &builder)
            }
            if builder.ndjson.count >= maxBatchBytes, !publish() { return false }
        }
        if atEnd, stream.joiner.close() { encodeGroup(stream.joiner.completedGroup) }
        return true
    }

    /// Encodes one read's complete lines, half of them on the helper thread when there are
    /// many, and publishes them in order. (Multiline groups other than `auto`'s and the end of a
    /// stream take the line-by-line path: a group can span reads.)
    private mutating func encodeSplitting(_ framer: inout LineFramer, hints: TransformHints) -> Bool {
        var lines: [FramedLine] = []
        swap(&lines, &self.lines)
        defer {
            lines.removeAll(keepingCapacity: true)
            swap(&lines, &self.lines)
        }
        while let line = framer.nextLine() { lines.append(line) }
        return lines.withUnsafeBufferPointer { encodeRun($0, hints: hints) }
    }

    /// `auto` multiline on one read: traces are found by looking at each pair of lines (a cheap
    /// test rules out almost every pair, see `AutoTrace.mayJoin`), joined, and encoded in their
    /// place; the runs of lines between them take the two-core path like any read. Only a group
    /// still open at the read's end (a trace, or a line that speaks of a problem, as the read's
    /// last line) waits in the joiner for the next read or its timeout.
    private mutating func encodeJoiningTraces(_ stream: inout StreamFraming, hints: TransformHints) -> Bool {
        var lines: [FramedLine] = []
        swap(&lines, &self.lines)
        defer {
            lines.removeAll(keepingCapacity: true)
            swap(&lines, &self.lines)
        }
        while let line = stream.framer.nextLine() { lines.append(line) }
        var index = 0
        // A group the previous read left open takes the lines that continue it.
        if stream.joiner.hasOpenGroup {
            while index < lines.count, lines[index].part == 0, stream.joiner.tryContinue(lines[index].bytes) { index += 1 }
            guard index < lines.count else { return true }
            if stream.joiner.close() { encodeGroup(stream.joiner.completedGroup) }
        }
        guard let settings = stream.joiner.settings else { return true }
        let now = MonotonicClock.nowNanoseconds()
        return lines.withUnsafeBufferPointer { all in
            var runStart = index
            var start = index
            while start < all.count {
                let first = all[start]
                guard first.part == 0 else {
                    start += 1
                    continue
                }
                var trace = AutoTrace()
                guard start + 1 < all.count else {
                    // The read's last line: a group may start here and go on in the next read.
                    trace.started(first.bytes)
                    guard trace.isOpen else { break }
                    guard encodeRun(UnsafeBufferPointer(rebasing: all[runStart..<start]), hints: hints) else { return false }
                    _ = stream.joiner.add(first.bytes, now: now)
                    return true
                }
                guard all[start + 1].part == 0, AutoTrace.mayJoin(first.bytes, all[start + 1].bytes) else {
                    start += 1
                    continue
                }
                trace.started(first.bytes)
                var end = start + 1
                var bytes = first.bytes.count
                while end < all.count, all[end].part == 0, end - start < settings.maxLines, bytes + 1 + all[end].bytes.count <= settings.maxBytes,
                      trace.continues(all[end].bytes) {
                    bytes += 1 + all[end].bytes.count
                    end += 1
                }
                guard end > start + 1 else {
                    start += 1
                    continue
                }
                guard encodeRun(UnsafeBufferPointer(rebasing: all[runStart..<start]), hints: hints) else { return false }
                if end == all.count, end - start < settings.maxLines {
                    // The trace may go on in the next read: the joiner holds it.
                    _ = stream.joiner.add(first.bytes, now: now)
                    for line in all[(start + 1)..<end] { _ = stream.joiner.tryContinue(line.bytes) }
                    return true
                }
                joined.removeAll()
                for line in all[start..<end] {
                    if joined.count > 0 { joined.append(0x0A) }
                    joined.append(line.bytes)
                }
                encodeGroup(joined.bytes)
                if builder.ndjson.count >= maxBatchBytes, !publish() { return false }
                runStart = end
                start = end
            }
            return encodeRun(UnsafeBufferPointer(rebasing: all[runStart...]), hints: hints)
        }
    }

    /// Encodes lines that are one event each, half of them on the helper thread when there are
    /// many, and publishes them in order.
    private mutating func encodeRun(_ lines: UnsafeBufferPointer<FramedLine>, hints: TransformHints) -> Bool {
        guard lines.count >= HelperEncoder.minimumLines else {
            for line in lines {
                encoder.encode(line, into: &builder)
                if builder.ndjson.count >= maxBatchBytes, !publish() { return false }
            }
            return true
        }
        guard publish() else { return false }
        let helper = self.helper ?? HelperEncoder(
            name: "enc " + metadata.sourceName, context: context, format: format, metadata: metadata, capacity: initialCapacity
        )
        if helper !== self.helper, let switchedMetadata { helper.encoder.use(switchedMetadata) }
        helper.encoder.fuse(hints.fusedShaping)
        self.helper = helper
        // Each line is one event, so the helper's half can be numbered before it is encoded
        // and made ready for the ring (transforms included) on the helper's thread.
        let half = lines.count / 2
        let parallel = hints.mayRunInParallel
        helper.start(
            UnsafeBufferPointer(rebasing: lines[0..<half]), readTimeMilliseconds: encoder.readTimeMilliseconds,
            origin: reserveOrigin(count: half), prepares: parallel
        )
        for line in lines[half...] { encoder.encode(line, into: &builder) }
        let second = takeBatch()!
        second.assignOrigin(reserveOrigin(count: second.count))
        let prepared = parallel ? context.prepare(second) : nil
        let (first, counts) = helper.finish()
        context.counters.add(counts)
        // In order: stateful transforms (sample, throttle, dedupe) see the first half first.
        let firstPrepared = first ?? context.prepare(helper.takeBatch())
        let secondPrepared = prepared ?? context.prepare(second)
        guard send(firstPrepared) else {
            // Counted in already: its events are accounted as not published.
            context.countUnpublished(secondPrepared)
            return false
        }
        return send(secondPrepared)
    }

    /// Encodes the stream's open multiline group now (its timeout passed).
    public mutating func closeGroup(of stream: inout StreamFraming) {
        if stream.joiner.close() { encodeGroup(stream.joiner.completedGroup) }
    }

    /// Encodes `bytes` as exactly one event (a datagram); `truncated` counts it as cut.
    public mutating func encodeMessage(_ bytes: UnsafeRawBufferPointer, truncated: Bool = false) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        let message = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
        encoder.encode(FramedLine(bytes: message, isJoined: message.contains(0x0A)), into: &builder)
        if truncated { encoder.countTruncated() }
    }

    public var pendingBytes: Int { builder.ndjson.count }

    /// Publishes what has been encoded, if anything. False when the pipeline is closed.
    public mutating func publish() -> Bool {
        guard let batch = takeBatch() else { return true }
        batch.assignOrigin(reserveOrigin(count: batch.count))
        return send(context.prepare(batch))
    }

    private func reserveOrigin(count: Int) -> EventOrigin {
        sender?.reserveOrigin(count: count) ?? context.reserveOrigin(count: count)
    }

    private func send(_ batch: PreparedBatch) -> Bool {
        if let sender { return sender.send(batch) }
        return context.publishTracked(batch) != nil
    }

    /// Encodes the next events with other metadata (see `EventEncoder.use(_:)`); publish what
    /// was encoded with the previous metadata first, if it must not share a batch.
    public mutating func use(_ metadata: EncodedStreamMetadata) {
        encoder.use(metadata)
        helper?.encoder.use(metadata)
        switchedMetadata = metadata
    }

    /// Encodes one line (or joined group) as read at `readTimeMilliseconds` (the time events
    /// without one of their own get), publishing when the batch fills. False when the pipeline
    /// is closed.
    public mutating func encode(_ line: FramedLine, readTimeMilliseconds: Int64) -> Bool {
        encoder.setReadTime(readTimeMilliseconds)
        encoder.encode(line, into: &builder)
        return builder.ndjson.count < maxBatchBytes || publish()
    }

    /// What has been encoded, as a batch for the source's thread to publish (for a source that
    /// encodes on other threads, where publishing could block them); nil when nothing was.
    public mutating func takeBatch() -> EventBatch? {
        guard let (batch, counts) = takeUncountedBatch() else { return nil }
        context.counters.add(counts)
        return batch
    }

    /// The same, with its counts for the caller to add to the source's once the events are
    /// really taken in (the `otlp` source: only for requests it answers 200).
    public mutating func takeUncountedBatch() -> (EventBatch, EncodingCounts)? {
        guard !builder.isEmpty else { return nil }
        var full = EventBatchBuilder(byteCapacity: initialCapacity)
        swap(&full, &builder)
        let counts = encoder.takeCounts()
        encoder.nameShaping(of: &full)
        return (EventBatch(sourceIndex: context.sourceIndex, builder: full), counts)
    }

    private mutating func encodeGroup(_ group: UnsafeRawBufferPointer) {
        encoder.encode(FramedLine(bytes: group, isJoined: group.contains(0x0A)), into: &builder)
    }
}
