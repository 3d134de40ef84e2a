public import SluiceRing
import SluiceSync

/// Where sources publish: the ring of the sinks running now, and the transforms batches pass
/// on their way in.
///
/// A reload puts a new ring in place. The old ring is closed first, so no batch enters it any
/// more; a publisher whose claim fails on the closed ring waits here until the new ring is
/// installed and publishes there. No batch falls between the two rings, and while the old
/// sinks drain the sources are held back exactly as a full ring would hold them. New transforms
/// are installed with the new ring, in one step: a batch the old transforms made is numbered
/// anew for the new sinks (`BatchTransforms.translate`).
///
/// Publishing takes no lock: the ring, the transforms and whether the route has ended are one
/// immutable `Installed` value behind a `SharedReference`, which a publisher loads (pin, retain,
/// unpin) and a reload replaces whole; the old value is freed when its last publisher lets go.
/// Only a publisher that found its ring closed waits, on `replacedLock`, for the next one.
///
/// `@unchecked Sendable`: all state is the shared reference, plus a condition lock.
public final class PublishRoute: @unchecked Sendable {
    /// What publishers use now.
    final class Installed: PinCounted, @unchecked Sendable {
        let ring: EventRing<EventBatch>
        let stage: (any BatchTransforms)?
        let ended: Bool

        init(ring: EventRing<EventBatch>, stage: (any BatchTransforms)?, ended: Bool = false) {
            self.ring = ring
            self.stage = stage
            self.ended = ended
        }
    }

    private let installed = SharedReference<Installed>()
    private let replacedLock = ConditionLock()

    public init(_ ring: EventRing<EventBatch>, transforms: (any BatchTransforms)? = nil, taps: TapHub = TapHub()) {
        self.taps = taps
        installed.replace(with: Installed(ring: ring, stage: transforms)) { _ in false }
    }

    /// Where `sluice tap` sees what the sources and transforms publish (`SourceContext.prepare`).
    public let taps: TapHub

    private var now: Installed {
        // Never empty: `init` fills it and every writer replaces it with another value.
        installed.load()!
    }

    public var current: EventRing<EventBatch> { now.ring }

    /// The transforms batches pass now (see `BatchTransforms`), if any.
    var transforms: (any BatchTransforms)? { now.stage }

    var hasEnded: Bool { now.ended }

    /// Publishes a batch that `preparedBy` made (or a source's own batch, made by no stage) and
    /// says where it went; a position with no ring when no sink takes it any more (a reload
    /// removed its transform); nil once the route has ended (the pipeline is stopping).
    func publish(_ prepared: EventBatch, preparedBy: (any BatchTransforms)?) -> RingPosition? {
        var batch = prepared
        var target = now
        var preparedBy = preparedBy
        while true {
            if target.stage !== preparedBy {
                // A batch no transforms prepared is a source's own: its number never changes.
                let translated = if let preparedBy { preparedBy.translate(batch.sourceIndex, to: target.stage) } else { batch.sourceIndex }
                guard let index = translated else {
                    return RingPosition(ring: nil, sequence: 0)
                }
                batch = batch.relabeled(as: index)
                preparedBy = target.stage
            }
            if let claim = target.ring.claim(eventCount: batch.count) {
                target.ring.publish(batch, for: claim)
                return RingPosition(ring: target.ring, sequence: claim.sequence)
            }
            guard let next = replacement(of: target.ring) else { return nil }
            target = next
        }
    }

    /// Installs new transforms for a reload that keeps the ring (the sinks' inputs did not move).
    /// The pipeline makes one change to the route at a time.
    func install(transforms: (any BatchTransforms)?) {
        let ring = now.ring
        put(Installed(ring: ring, stage: transforms))
    }

    /// Routes to `next` through `transforms` from now on; the caller has closed the previous
    /// ring.
    func install(_ next: EventRing<EventBatch>, transforms: (any BatchTransforms)?) {
        put(Installed(ring: next, stage: transforms))
    }

    /// Ends the stream: the current ring closes and publishers get nil from now on.
    func end() {
        let last = now
        put(Installed(ring: last.ring, stage: last.stage, ended: true))
        last.ring.close()
    }

    /// Replaces what publishers use, unless the route has ended, and wakes publishers waiting
    /// for a replacement.
    private func put(_ next: Installed) {
        installed.replace(with: next) { $0.ended }
        replacedLock.withLock { replacedLock.broadcast() }
    }

    /// Waits until `closed` is replaced; nil when the route ended instead. Publishers get here
    /// only between a reload's closing of the old ring and its installing the new one.
    private func replacement(of closed: EventRing<EventBatch>) -> Installed? {
        replacedLock.withLock {
            var latest = now
            while latest.ring === closed && !latest.ended {
                _ = replacedLock.wait(deadlineNanoseconds: nil)
                latest = now
            }
            return latest.ring === closed ? nil : latest
        }
    }
}
