public import SluiceRing

/// Where sources publish: the ring of the sinks running now.
///
/// A reload puts a new ring in place. The old ring is closed first, so no batch enters it any
/// more; a publisher whose claim fails on the closed ring waits here until the new ring is
/// installed and publishes there. No batch falls between the two rings, and while the old
/// sinks drain the sources are held back exactly as a full ring would hold them.
///
/// `@unchecked Sendable`: `ring` and `ended` change only under `lock`.
public final class PublishRoute: @unchecked Sendable {
    private let lock = ConditionLock()
    private var ring: EventRing<EventBatch>
    private var ended = false
    /// The transforms batches pass on their way in (see `TransformStage`), if any.
    let transforms: TransformStage?

    public init(_ ring: EventRing<EventBatch>, transforms: TransformStage? = nil) {
        self.ring = ring
        self.transforms = transforms
    }

    public var current: EventRing<EventBatch> {
        lock.withLock { ring }
    }

    var hasEnded: Bool {
        lock.withLock { ended }
    }

    /// Publishes a batch and says where it went; nil once the route has ended (the pipeline is
    /// stopping).
    func publish(_ batch: EventBatch) -> RingPosition? {
        var target = current
        while true {
            if let claim = target.claim(eventCount: batch.count) {
                target.publish(batch, for: claim)
                return RingPosition(ring: target, sequence: claim.sequence)
            }
            guard let next = replacement(of: target) else { return nil }
            target = next
        }
    }

    /// Routes to `next` from now on; the caller has closed the previous ring.
    func install(_ next: EventRing<EventBatch>) {
        lock.withLock {
            ring = next
            lock.broadcast()
        }
    }

    /// Ends the stream: the current ring closes and publishers get false from now on.
    func end() {
        let last = lock.withLock {
            ended = true
            lock.broadcast()
            return ring
        }
        last.close()
    }

    /// Waits until `closed` is replaced; nil when the route ended instead.
    private func replacement(of closed: EventRing<EventBatch>) -> EventRing<EventBatch>? {
        lock.withLock {
            while ring === closed && !ended {
                _ = lock.wait(deadlineNanoseconds: nil)
            }
            return ring === closed ? nil : ring
        }
    }
}
