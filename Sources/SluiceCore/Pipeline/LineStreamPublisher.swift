/// The common path of every stream source: bytes in, framed lines encoded as events, one batch
/// published per read. One publisher per stream (a wrapped app's stdout and stderr are two),
/// used by one thread.
public final class LineStreamPublisher {
    private let context: SourceContext
    private var framer: LineFramer
    private var encoder: EventEncoder
    private var batch: EventBatch
    /// A batch is published early once it holds this much, so a 100 MB burst never becomes one
    /// 100 MB batch.
    private let maxBatchBytes: Int

    public init(context: SourceContext, format: InputFormat, metadata: EventMetadata, maxLineBytes: Int, readSize: Int = 256 * 1024) {
        self.context = context
        framer = LineFramer(maxLineBytes: maxLineBytes, readSize: readSize)
        encoder = EventEncoder(format: format, metadata: metadata)
        maxBatchBytes = max(readSize * 2, 64 * 1024)
        batch = EventBatch(sourceIndex: context.sourceIndex, byteCapacity: readSize + readSize / 2)
    }

    /// Where the next read goes; follow with `didRead(_:)`.
    public func spaceForRead() -> UnsafeMutableRawBufferPointer {
        framer.spaceForRead()
    }

    /// Publishes the complete lines the last read completed. False when the pipeline is closed.
    public func didRead(_ byteCount: Int) -> Bool {
        framer.didRead(byteCount)
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        while let line = framer.nextLine() {
            encoder.encode(line, into: batch)
            if batch.ndjson.count >= maxBatchBytes, !publishBatch() { return false }
        }
        return publishBatch()
    }

    /// Adds bytes that did not come from a read into `spaceForRead()`.
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        framer.append(bytes)
        return didRead(0)
    }

    /// The input ended: publishes a last line that had no newline.
    public func finish() -> Bool {
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        while let line = framer.finish() {
            encoder.encode(line, into: batch)
        }
        return publishBatch()
    }

    /// Drops an unfinished line (a socket writer vanished mid-line) and counts its bytes.
    public func discardPartialLine() {
        context.counters.partialLineBytesDropped.add(framer.discardPending())
    }

    /// Publishes `bytes` as exactly one event (a datagram), whatever newlines it holds.
    public func publishMessage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        encoder.setReadTime(EventTimestamp.nowMilliseconds())
        encoder.encode(FramedLine(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<end])), into: batch)
        return publishBatch()
    }

    private func publishBatch() -> Bool {
        guard !batch.isEmpty else { return true }
        context.counters.add(encoder.takeCounts())
        let full = batch
        batch = EventBatch(sourceIndex: context.sourceIndex, byteCapacity: full.ndjson.capacity)
        return context.publish(full)
    }
}
