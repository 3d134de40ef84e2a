/// A small bounded queue between a `drop_newest` sink's ring reader and its writer: the reader
/// never waits (a full queue means the batch is dropped), the writer parks when it is empty.
final class BatchHandOff: BatchFeed, Sendable {
    private let queue: BoundedQueue<FedBatch>

    init(capacity: Int) {
        queue = BoundedQueue(capacity: capacity)
    }

    /// Queues the batch if there is room. Never blocks.
    func offer(_ item: FedBatch) -> Bool {
        queue.offer(item)
    }

    func close() {
        queue.close()
    }

    /// The writer flushes when it takes the last queued batch: `endOfRun` is derived here.
    func next(deadlineNanoseconds: UInt64?) -> FeedItem {
        switch queue.take(deadlineNanoseconds: deadlineNanoseconds) {
        case .element(let item, let isLast): .batch(FedBatch(batch: item.batch, sequence: item.sequence, endOfRun: isLast, segment: item.segment))
        case .closed: .finished
        case .timedOut: .timedOut
        }
    }

    /// The ring reader already committed the sequence; nothing to release here.
    func done(with item: FedBatch) {}
}
