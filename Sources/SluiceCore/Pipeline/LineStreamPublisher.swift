/// The common path of every stream source: bytes in, framed lines encoded as events, one batch
/// published per read. One publisher per stream (a wrapped app's stdout and stderr are two),
/// used by one thread.
public final class LineStreamPublisher {
    private let context: SourceContext
    private var stream: LineStream

    public init(context: SourceContext, format: InputFormat, metadata: EventMetadata, maxLineBytes: Int, readSize: Int = 256 * 1024) {
        self.context = context
        stream = LineStream(
            framer: LineFramer(maxLineBytes: maxLineBytes, readSize: readSize),
            encoder: EventEncoder(format: format, metadata: metadata),
            sourceIndex: context.sourceIndex,
            // A batch is published early once it holds this much, so a 100 MB burst never
            // becomes one 100 MB batch.
            maxBatchBytes: max(readSize * 2, 64 * 1024)
        )
    }

    /// Where the next read goes; follow with `didRead(_:)`.
    public func spaceForRead() -> UnsafeMutableRawBufferPointer {
        stream.framer.spaceForRead()
    }

    /// Publishes the complete lines the last read completed. False when the pipeline is closed.
    public func didRead(_ byteCount: Int) -> Bool {
        stream.framer.didRead(byteCount)
        return stream.encodeLines(atEnd: false, publish: publish)
    }

    /// Adds bytes that did not come from a read into `spaceForRead()`.
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        stream.framer.append(bytes)
        return stream.encodeLines(atEnd: false, publish: publish)
    }

    /// The input ended: publishes a last line that had no newline.
    public func finish() -> Bool {
        stream.encodeLines(atEnd: true, publish: publish)
    }

    /// Drops an unfinished line (a socket writer vanished mid-line) and counts its bytes.
    public func discardPartialLine() {
        context.counters.partialLineBytesDropped.add(stream.framer.discardPending())
    }

    /// Publishes `bytes` as exactly one event (a datagram), whatever newlines it holds.
    public func publishMessage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        stream.encodeMessage(bytes, publish: publish)
    }

    private func publish(_ batch: EventBatch, _ counts: EncodingCounts) -> Bool {
        context.counters.add(counts)
        return context.publish(batch)
    }
}

/// A stream's framer, encoder and the batch being filled, in one value so the per-line loop
/// runs on it directly.
struct LineStream: ~Copyable {
    var framer: LineFramer
    var encoder: EventEncoder
    var builder: EventBatchBuilder
    let sourceIndex: Int
    let maxBatchBytes: Int

    init(framer: consuming LineFramer, encoder: consuming EventEncoder, sourceIndex: Int, maxBatchBytes: Int) {
        self.framer = framer
        self.encoder = encoder
        self.sourceIndex = sourceIndex
        self.maxBatchBytes = maxBatchBytes
        builder = EventBatchBuilder(byteCapacity: maxBatchBytes)
    }

    /// Encodes every complete line (and at the end, the unterminated last one), publishing as
    /// batches fill and once at the end. False when the pipeline is closed.
    mutating func encodeLines(atEnd: Bool, publish: (EventBatch, EncodingCounts) -> Bool) -> Bool {
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        while let line = atEnd ? framer.finish() : framer.nextLine() {
            encoder.encode(line, into: &builder)
            if builder.ndjson.count >= maxBatchBytes, !publishBatch(publish) { return false }
        }
        return publishBatch(publish)
    }

    mutating func encodeMessage(_ bytes: UnsafeRawBufferPointer, publish: (EventBatch, EncodingCounts) -> Bool) -> Bool {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        encoder.encode(FramedLine(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<end])), into: &builder)
        return publishBatch(publish)
    }

    private mutating func publishBatch(_ publish: (EventBatch, EncodingCounts) -> Bool) -> Bool {
        guard !builder.isEmpty else { return true }
        var full = EventBatchBuilder(byteCapacity: max(builder.ndjson.capacity, 4096))
        swap(&full, &builder)
        return publish(EventBatch(sourceIndex: sourceIndex, builder: full), encoder.takeCounts())
    }
}
