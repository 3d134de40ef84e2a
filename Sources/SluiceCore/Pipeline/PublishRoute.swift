public import SluiceRing

/// Where sources publish: the ring of the sinks running now, and the transforms batches pass
/// on their way in.
///
/// A reload puts a new ring in place. The old ring is closed first, so no batch enters it any
/// more; a publisher whose claim fails on the closed ring waits here until the new ring is
/// installed and publishes there. No batch falls between the two rings, and while the old
/// sinks drain the sources are held back exactly as a full ring would hold them. New transforms
/// are installed with the new ring, in one step: a batch the old transforms made is numbered
/// anew for the new sinks (`TransformStage.translate`).
///
/// `@unchecked Sendable`: `ring`, `stage` and `ended` change only under `lock`.
public final class PublishRoute: @unchecked Sendable {
    private let lock = ConditionLock()
    private var ring: EventRing<EventBatch>
    private var stage: TransformStage?
    private var ended = false

    public init(_ ring: EventRing<EventBatch>, transforms: TransformStage? = nil) {
        self.ring = ring
        stage = transforms
    }

    public var current: EventRing<EventBatch> {
        lock.withLock { ring }
    }

    /// The transforms batches pass now (see `TransformStage`), if any.
    var transforms: TransformStage? {
        lock.withLock { stage }
    }

    var hasEnded: Bool {
        lock.withLock { ended }
    }

    /// Publishes a batch that `preparedBy` made (or a source's own batch, made by no stage) and
    /// says where it went; a position with no ring when no sink takes it any more (a reload
    /// removed its transform); nil once the route has ended (the pipeline is stopping).
    func publish(_ batch: EventBatch, preparedBy: TransformStage?) -> RingPosition? {
        var (target, installed) = lock.withLock { (ring, stage) }
        var preparedBy = preparedBy
        while true {
            if installed !== preparedBy {
                guard let index = TransformStage.translate(batch.sourceIndex, from: preparedBy, to: installed) else {
                    return RingPosition(ring: nil, sequence: 0)
                }
                if index != batch.sourceIndex { batch.relabel(as: index) }
                preparedBy = installed
            }
            if let claim = target.claim(eventCount: batch.count) {
                target.publish(batch, for: claim)
                return RingPosition(ring: target, sequence: claim.sequence)
            }
            guard let next = replacement(of: target) else { return nil }
            (target, installed) = next
        }
    }

    /// Installs new transforms for a reload that keeps the ring (the sinks' inputs did not move).
    func install(transforms: TransformStage?) {
        lock.withLock { stage = transforms }
    }

    /// Routes to `next` through `transforms` from now on; the caller has closed the previous
    /// ring.
    func install(_ next: EventRing<EventBatch>, transforms: TransformStage?) {
        lock.withLock {
            ring = next
            stage = transforms
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
    private func replacement(of closed: EventRing<EventBatch>) -> (EventRing<EventBatch>, TransformStage?)? {
        lock.withLock {
            while ring === closed && !ended {
                _ = lock.wait(deadlineNanoseconds: nil)
            }
            return ring === closed ? nil : (ring, stage)
        }
    }
}
