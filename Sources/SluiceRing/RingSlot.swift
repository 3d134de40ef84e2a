public import Synchronization

/// The atomic half of a ring cell.
///
/// `stamp` is the sequence last published in the cell (-1 before the first): a consumer waiting
/// for sequence `s` watches it, which is what lets several producers publish out of claim order.
/// `pendingReaders` counts the gating consumers that have not committed the cell's sequence; the
/// last one clears the cell's `RingSlotContent`. `node` is what consumers that do not gate read
/// (see `EventRing`), empty when the ring has none.
///
/// The atomics live apart from the content so that writing the content never counts as an
/// access to the memory other threads read atomically.
@usableFromInline
struct RingSlotControl<Element>: ~Copyable {
    @usableFromInline let stamp = Atomic<Int>(-1)
    @usableFromInline let pendingReaders = Atomic<Int>(0)
    @usableFromInline let node = SharedReference<RingNode<Element>>()

    @usableFromInline init() {}

    /// Publishes `sequence` unless a later one already is (only possible when no consumer gates
    /// the producers, so a producer can lap another that has not published yet).
    @inlinable
    func raiseStamp(to sequence: Int) {
        var current = stamp.load(ordering: .relaxed)
        while current < sequence {
            let attempt = stamp.compareExchange(expected: current, desired: sequence, ordering: .releasing)
            if attempt.exchanged { return }
            current = attempt.original
        }
    }
}

/// What gating consumers read of a cell, written by the one producer that claimed its sequence
/// before the stamp is published and cleared by the last gating consumer to commit it. No one
/// else touches it in between: a producer may claim the cell's next sequence only once every
/// gating consumer has committed this one.
@usableFromInline
struct RingSlotContent<Element> {
    @usableFromInline var element: Element?
    /// Events in this cell's element.
    @usableFromInline var eventCount = 0
    /// Events in every sequence before this one.
    @usableFromInline var eventsBefore = 0

    @inlinable
    init(element: Element? = nil, eventCount: Int = 0, eventsBefore: Int = 0) {
        self.element = element
        self.eventCount = eventCount
        self.eventsBefore = eventsBefore
    }
}

/// One published element as consumers that do not gate read it: immutable once made, held by
/// the cell through a `SharedReference`, so a producer that laps such a consumer replaces it
/// while the consumer may still be reading the old one, and neither waits.
///
/// `@unchecked Sendable`: every stored property is immutable or atomic.
@usableFromInline
final class RingNode<Element>: PinCounted, @unchecked Sendable {
    @usableFromInline let element: Element
    @usableFromInline let sequence: Int
    @usableFromInline let eventCount: Int
    /// Events in every sequence before this one: lets a consumer that was lapped count exactly
    /// what it missed.
    @usableFromInline let eventsBefore: Int
    /// Non-gating consumers that have not committed this sequence; the last one empties the
    /// cell so the element's memory is freed as soon as every sink is done with it.
    @usableFromInline let pendingReaders: Atomic<Int>

    @usableFromInline
    init(element: Element, claim: RingClaim, readers: Int) {
        self.element = element
        sequence = claim.sequence
        eventCount = claim.eventCount
        eventsBefore = claim.eventsBefore
        pendingReaders = Atomic(readers)
    }
}
