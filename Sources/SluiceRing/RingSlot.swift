import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The atomic half of a ring cell.
///
/// `stamp` is the sequence last published in the cell (-1 before the first): a consumer waiting
/// for sequence `s` watches it, which is what lets several producers publish out of claim order.
/// `lock` guards the cell's `RingSlotContent`, and is held for a few instructions: a consumer
/// that does not gate the producers (`drop_oldest`) may read a cell while a producer overwrites
/// it, and the lock keeps it from retaining a reference that is being released.
///
/// The atomics live apart from the content so that writing the content never counts as an
/// access to the memory other threads read atomically.
struct RingSlotControl: ~Copyable {
    let stamp = Atomic<Int>(-1)
    private let lock = Atomic<Bool>(false)

    func acquire() {
        var spins = 0
        while !lock.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    func release() {
        lock.store(false, ordering: .releasing)
    }
}

/// The guarded half of a ring cell: only touched while holding its control's lock.
struct RingSlotContent<Element> {
    var element: Element?
    /// Events in this cell's element.
    var eventCount = 0
    /// Events in every sequence before this one: lets a consumer that skipped ahead count
    /// exactly what it missed.
    var eventsBefore = 0
    /// Consumers that have not yet committed this sequence; the last one clears the cell so the
    /// element's memory is freed as soon as every sink is done with it.
    var pendingReaders = 0
}
