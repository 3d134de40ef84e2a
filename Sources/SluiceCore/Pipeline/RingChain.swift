import SluiceRing

/// The rings one sink reads, in order: the ring it started on, then each ring a reload put in
/// place while the sink carried on unchanged. A reload closes the ring the sources published to,
/// so the sink reads that ring to its end before the next one: it sees every source's events in
/// order across reloads, and a sink that stays behind (its destination down) holds only its own
/// rings, never the sources of a ring it has not reached. After `end()` no ring follows the
/// last: the sink finishes when it has read it.
///
/// `@unchecked Sendable`: `segments`, `ended` and `position` are only touched under `lock`
/// (`position` changes only on the one thread that reads).
final class RingChain: BatchFeed, @unchecked Sendable {
    struct Segment {
        let ring: EventRing<EventBatch>
        let consumer: RingConsumer
    }

    private let lock = ConditionLock()
    private var segments: [Segment]
    private var ended = false
    private var position = 0

    init(ring: EventRing<EventBatch>, consumer: RingConsumer) {
        segments = [Segment(ring: ring, consumer: consumer)]
    }

    /// The ring to read after the current ones (a reload keeps the sink).
    func append(ring: EventRing<EventBatch>, consumer: RingConsumer) {
        lock.withLock {
            segments.append(Segment(ring: ring, consumer: consumer))
            lock.broadcast()
        }
    }

    /// No ring will follow the last one (the sink is removed or replaced, or the stream ends).
    func end() {
        lock.withLock {
            ended = true
            lock.broadcast()
        }
    }

    /// The cursor in the ring being read (the reading thread's).
    var currentConsumer: RingConsumer {
        lock.withLock { segments[position].consumer }
    }

    /// The rings not yet read to their end, with this sink's cursor in each.
    var remainingSegments: [Segment] {
        lock.withLock { Array(segments[position...]) }
    }

    func next(deadlineNanoseconds: UInt64?) -> FeedItem {
        while true {
            let (index, segment) = lock.withLock { (position, segments[position]) }
            switch segment.ring.poll(segment.consumer, deadlineNanoseconds: deadlineNanoseconds) {
            case .element(let batch, let sequence, let endOfRun):
                return .batch(FedBatch(batch: batch, sequence: sequence, endOfRun: endOfRun, segment: index))
            case .timedOut:
                return .timedOut
            case .finished:
                // Closed and read to its end. A reload decides what follows before it closes a
                // ring, so this waits only if a ring was closed some other way.
                let following = lock.withLock { () -> Bool? in
                    while index + 1 >= segments.count && !ended {
                        guard lock.wait(deadlineNanoseconds: deadlineNanoseconds) else { return nil }
                    }
                    guard index + 1 < segments.count else { return false }
                    position = index + 1
                    return true
                }
                switch following {
                case .some(true): continue
                case .some(false): return .finished
                case .none: return .timedOut
                }
            }
        }
    }

    func done(with item: FedBatch) {
        let segment = lock.withLock { segments[item.segment] }
        segment.ring.commit(segment.consumer, sequence: item.sequence)
    }
}
