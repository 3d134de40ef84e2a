import SluiceSync

/// A second encoder on its own thread, so one busy stream parses on two cores: for a read that
/// completed many lines, the helper encodes the first half while the reading thread encodes the
/// second, and the reading thread publishes the helper's batch first, so order is kept.
///
/// Encoding (JSON scan, timestamps, copying) is most of a stream's cost; reading and framing
/// are a few percent. The thread starts on the first large read, so quiet sources never have
/// one, and sleeps on a condition variable between reads.
///
/// The helper's events are numbered before it starts (each line is one event), so it can also
/// seal its batch and prepare it for the ring (`SourceContext.prepare`: the transforms) while
/// the reading thread prepares the second half, when the source's transforms allow that.
///
/// `@unchecked Sendable`: `job`, `encoder`, `builder`, `batch` and `prepared` belong to the
/// helper thread from `start` until `finish` sees it done, and to the reading thread otherwise;
/// the lock orders each hand-over.
final class HelperEncoder: @unchecked Sendable {
    /// Reads with fewer complete lines are encoded on the reading thread alone: handing over
    /// costs a wake-up or two (tens of microseconds), worth it only for a few hundred lines.
    static let minimumLines = 256

    private let lock = ConditionLock()
    private var job: UnsafeBufferPointer<FramedLine>?
    private var readTime: Int64 = 0
    private var origin = EventOrigin.standalone()
    private var prepares = false
    private var batch: EventBatch?
    private var prepared: PreparedBatch?
    private let context: SourceContext
    private var done = true
    private var stopping = false
    private var thread: NamedThread?
    private let name: String
    var encoder: EventEncoder
    var builder: EventBatchBuilder
    private let capacity: Int

    init(name: String, context: SourceContext, format: InputFormat, metadata: EventMetadata, capacity: Int) {
        self.name = name
        self.context = context
        encoder = EventEncoder(format: format, metadata: metadata)
        builder = EventBatchBuilder(byteCapacity: capacity)
        self.capacity = capacity
    }

    /// Hands `lines` (valid until `finish` returns) to the helper thread, their events numbered
    /// from `origin`; with `prepares`, the helper also prepares its batch for the ring.
    func start(_ lines: UnsafeBufferPointer<FramedLine>, readTimeMilliseconds: Int64, origin: EventOrigin, prepares: Bool) {
        if thread == nil {
            thread = NamedThread(name: name) { [self] in run() }
        }
        lock.withLock {
            job = lines
            readTime = readTimeMilliseconds
            self.origin = origin
            self.prepares = prepares
            done = false
        }
        lock.broadcast()
    }

    /// Waits for the helper to finish; returns its batch prepared for the ring when it was
    /// asked to (else `takeBatch()` has it), and the counts it gathered.
    func finish() -> (PreparedBatch?, EncodingCounts) {
        lock.withLock {
            while !done { _ = lock.wait(deadlineNanoseconds: nil) }
        }
        defer { prepared = nil }
        return (prepared, encoder.takeCounts())
    }

    /// The helper's batch, numbered but not prepared (after `finish`).
    func takeBatch() -> EventBatch {
        defer { batch = nil }
        return batch!
    }

    /// Ends the helper thread (after any job in progress).
    func stop() {
        guard let thread else { return }
        lock.withLock { stopping = true }
        lock.broadcast()
        thread.join()
        self.thread = nil
    }

    private func run() {
        while true {
            var lines: UnsafeBufferPointer<FramedLine>?
            lock.withLock {
                while job == nil && !stopping { _ = lock.wait(deadlineNanoseconds: nil) }
                lines = job
            }
            guard let lines else { return }
            encoder.setReadTime(readTime)
            for line in lines { encoder.encode(line, into: &builder) }
            var full = EventBatchBuilder(byteCapacity: capacity)
            swap(&full, &builder)
            encoder.nameShaping(of: &full)
            let sealed = EventBatch(sourceIndex: context.sourceIndex, builder: full, origin: origin)
            if prepares { prepared = context.prepare(sealed) } else { batch = sealed }
            lock.withLock {
                job = nil
                done = true
            }
            lock.broadcast()
        }
    }
}
