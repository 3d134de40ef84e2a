import Synchronization
import SluiceRing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small bounded queue between a `drop_newest` sink's ring reader and its writer: the reader
/// never waits (a full queue means the batch is dropped), the writer parks when it is empty.
///
/// `@unchecked Sendable`: all state is behind the pthread mutex.
final class BatchHandOff: BatchFeed, @unchecked Sendable {
    private let capacity: Int
    private var queue: [FedBatch] = []
    private var closed = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Queues the batch if there is room. Never blocks.
    func offer(_ item: FedBatch) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard queue.count < capacity else { return false }
        // The writer flushes when it takes the last queued batch, so endOfRun is derived there.
        queue.append(item)
        pthread_cond_signal(condition)
        return true
    }

    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func next(deadlineNanoseconds: UInt64?) -> FeedItem {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while queue.isEmpty {
            if closed { return .finished }
            if let deadline = deadlineNanoseconds {
                if MonotonicClock.nowNanoseconds() >= deadline { return .timedOut }
                var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &spec)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        let item = queue.removeFirst()
        return .batch(FedBatch(batch: item.batch, sequence: item.sequence, endOfRun: queue.isEmpty))
    }

    /// The ring reader already committed the sequence; nothing to release here.
    func done(with item: FedBatch) {}
}
