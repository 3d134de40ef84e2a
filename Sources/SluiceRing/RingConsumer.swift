public import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One reader of the ring (one per sink), with its own cache-line padded sequence.
///
/// `@unchecked Sendable`: `eventsAccounted` is read and written only by the single thread that
/// consumes through this handle; everything shared with producers is atomic.
public final class RingConsumer: @unchecked Sendable {
    /// Whether producers wait for this consumer when the ring is full (`block`, `drop_newest`)
    /// or overwrite what it has not read yet (`drop_oldest`).
    public let gatesProducers: Bool
    /// The next sequence this consumer will read; producers read it to know what they may reuse.
    @usableFromInline let nextSequence = PaddedAtomic<Int>(0)
    private let lappedEvents = Atomic<Int>(0)
    /// `idle`, `committing` (the owner is inside `commit`) or `abandoned` (see `abandon()`).
    private let commitState = Atomic<Int>(CommitState.idle)
    /// Events in all sequences before `nextSequence`, read or skipped. Owner thread only.
    var eventsAccounted = 0

    private enum CommitState {
        static let idle = 0
        static let committing = 1
        static let abandoned = 2
    }

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

    /// The owner starts a commit; false once the consumer is abandoned (the commit does nothing).
    /// Uncontended except against `abandon()`, which happens once, when the process gives up on
    /// this consumer's sink.
    @usableFromInline
    func beginCommit() -> Bool {
        commitState.compareExchange(expected: CommitState.idle, desired: CommitState.committing, ordering: .acquiring).exchanged
    }

    @usableFromInline
    func endCommit() {
        commitState.store(CommitState.idle, ordering: .releasing)
    }

    /// Stops this consumer's commits from taking effect, waiting out one in progress: from then
    /// on what it has not committed stays in the ring untouched, for another thread to look at.
    /// Off the event path: only for a sink the process has stopped waiting for.
    func abandon() {
        while true {
            let attempt = commitState.compareExchange(expected: CommitState.idle, desired: CommitState.abandoned, ordering: .acquiring)
            if attempt.exchanged || attempt.original == CommitState.abandoned { return }
            sched_yield()
        }
    }
}
