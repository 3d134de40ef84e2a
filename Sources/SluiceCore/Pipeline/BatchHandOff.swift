import SluiceRing

/// A small bounded queue between a `drop_newest` sink's ring reader and its writer: the reader
/// never waits (a full queue means the batch is dropped), the writer parks when it is empty.
///
/// `@unchecked Sendable`: the queue and the closed flag are only touched under `lock`.
final class BatchHandOff: BatchFeed, @unchecked Sendable {
    private let capacity: Int
    private var queue: [FedBatch] = []
    private var closed = false
    private let lock = ConditionLock()

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues the batch if there is room. Never blocks.
    func offer(_ item: FedBatch) -> Bool {
        lock.withLock {
            guard queue.count < capacity else { return false }
            queue.append(item)
            lock.signal()
            return true
        }
    }

    func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }

    /// The writer flushes when it takes the last queued batch: `endOfRun` is derived here.
    func next(deadlineNanoseconds: UInt64?) -> FeedItem {
        lock.withLock {
            while queue.isEmpty {
                if closed { return .finished }
                if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return .timedOut }
            }
            let item = queue.removeFirst()
            return .batch(FedBatch(batch: item.batch, sequence: item.sequence, endOfRun: queue.isEmpty))
        }
    }

    /// The ring reader already committed the sequence; nothing to release here.
    func done(with item: FedBatch) {}
}
