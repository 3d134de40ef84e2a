import SluiceRing
import SluiceSync

/// The rings one sink reads, in order: the ring it started on, then each ring a reload put in
/// place while the sink carried on unchanged. A reload closes the ring the sources published to,
/// so the sink reads that ring to its end before the next one: it sees every source's events in
/// order across reloads, and a sink that stays behind (its destination down) holds only its own
/// rings, never the sources of a ring it has not reached. After `end()` no ring follows the
/// last: the sink finishes when it has read it.
///
/// Reading and committing take no lock: the reading thread keeps the segment it reads in
/// `reading`, and each batch carries its segment back to `done(with:)`. The lock guards only the
/// list, which the reading thread consults when a ring ends and a reload appends to.
///
/// `@unchecked Sendable`: `segments`, `ended` and `position` are only touched under `lock`;
/// `reading` only by the one thread that reads (set once before it starts).
final class RingChain: @unchecked Sendable {
    struct Segment {
        let ring: EventRing<EventBatch>
        let consumer: RingConsumer
    }

    private let lock = ConditionLock()
    private var segments: [Segment]
    private var ended = false
    private var position = 0
    private var reading: Segment

    init(ring: EventRing<EventBatch>, consumer: RingConsumer) {
        reading = Segment(ring: ring, consumer: consumer)
        segments = [reading]
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
        reading.consumer
    }

    /// The rings not yet read to their end, with this sink's cursor in each.
    var remainingSegments: [Segment] {
        lock.withLock { Array(segments[position...]) }
    }

    func next(deadlineNanoseconds: UInt64?) -> RingRead {
        while true {
            let segment = reading
            switch segment.ring.poll(segment.consumer, deadlineNanoseconds: deadlineNanoseconds) {
            case .element(let batch, let sequence, let endOfRun):
                return .batch(RingItem(batch: batch, sequence: sequence, endOfRun: endOfRun, segment: segment))
            case .timedOut:
                return .timedOut
            case .finished:
                switch followingSegment(deadlineNanoseconds: deadlineNanoseconds) {
                case .some(.some(let nextSegment)): reading = nextSegment
                case .none: return .finished
                case .some(.none): return .timedOut
                }
            }
        }
    }

    /// The ring after the one just read to its end: nil when none follows (the chain ended),
    /// `.some(nil)` when the deadline passed first. A reload decides what follows before it
    /// closes a ring, so this waits only if a ring was closed some other way.
    private func followingSegment(deadlineNanoseconds: UInt64?) -> Segment?? {
        lock.withLock { () -> Segment?? in
            while position + 1 >= segments.count && !ended {
                guard lock.wait(deadlineNanoseconds: deadlineNanoseconds) else { return .some(nil) }
            }
            guard position + 1 < segments.count else { return .none }
            position += 1
            return segments[position]
        }
    }

    func done(with item: RingItem) {
        item.segment.ring.commit(item.segment.consumer, sequence: item.sequence)
    }
}

/// A batch read from a chain, with where to commit it.
struct RingItem {
    let batch: EventBatch
    let sequence: Int
    let endOfRun: Bool
    /// The chain's ring it came from, and this sink's cursor there.
    let segment: RingChain.Segment
}

enum RingRead {
    case batch(RingItem)
    case timedOut
    case finished
}
