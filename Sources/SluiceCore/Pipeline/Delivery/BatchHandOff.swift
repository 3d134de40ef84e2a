/// A small bounded queue between a `drop_newest` sink's ring reader and its writer: the reader
/// never waits (a full queue means the batch is dropped), the writer parks when it is empty.
final class BatchHandOff: Sendable {
    private let queue: BoundedQueue<EventBatch>

    init(capacity: Int) {
        queue = BoundedQueue(capacity: capacity)
    }

    /// Queues the batch if there is room. Never blocks.
    func offer(_ batch: EventBatch) -> Bool {
        queue.offer(batch)
    }

    func close() {
        queue.close()
    }

    /// The writer's side.
    struct Feed: DeliveryFeed {
        let handOff: BatchHandOff

        /// The writer flushes when it takes the last queued batch: `endOfRun` is derived here.
        func next(deadlineNanoseconds: UInt64?) -> DeliveryFeedItem {
            switch handOff.queue.take(deadlineNanoseconds: deadlineNanoseconds) {
            case .element(let batch, let isLast): .batch(FeedBatch(batch: batch, endOfRun: isLast, ticket: nil, ringItem: nil))
            case .closed: .finished
            case .timedOut: .idle
            }
        }

        /// The ring reader already committed the sequence; nothing to release here.
        func done(with fed: FeedBatch) {}
    }
}
