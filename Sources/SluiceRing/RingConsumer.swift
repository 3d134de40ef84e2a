import Synchronization

/// One reader of the ring (one per sink), with its own cache-line padded sequence.
///
/// `@unchecked Sendable`: `eventsAccounted` is read and written only by the single thread that
/// consumes through this handle; everything shared with producers is atomic.
public final class RingConsumer: @unchecked Sendable {
    /// Whether producers wait for this consumer when the ring is full (`block`, `drop_newest`)
    /// or overwrite what it has not read yet (`drop_oldest`).
    public let gatesProducers: Bool
    /// The next sequence this consumer will read; producers read it to know what they may reuse.
    let nextSequence = PaddedAtomic<Int>(0)
    private let lappedEvents = Atomic<Int>(0)
    /// Events in all sequences before `nextSequence`, read or skipped. Owner thread only.
    var eventsAccounted = 0

    init(gatesProducers: Bool) {
        self.gatesProducers = gatesProducers
    }

    /// Events this consumer lost because producers overwrote them before it read them.
    /// Always zero for a consumer that gates the producers.
    public var droppedEvents: Int { lappedEvents.load(ordering: .relaxed) }

    /// Sequences this consumer has finished with.
    public var committedSequences: Int { nextSequence.atomic.pointee.load(ordering: .relaxed) }

    func countDropped(_ events: Int) {
        lappedEvents.add(events, ordering: .relaxed)
    }
}
