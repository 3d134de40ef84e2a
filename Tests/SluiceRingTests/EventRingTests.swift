import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing
import SluiceSync

@Suite("EventRing, one thread", .timeLimit(.minutes(10)), .watchdog)
struct EventRingSingleThreadTests {
    @Test func capacityRoundsUpToAPowerOfTwo() {
        #expect(EventRing<Int>(capacity: 5, consumerGating: [true]).capacity == 8)
        #expect(EventRing<Int>(capacity: 8, consumerGating: [true]).capacity == 8)
    }

    @Test func consumerReadsInOrderAndSeesTheEndOfARun() throws {
        let ring = EventRing<Int>(capacity: 8, consumerGating: [true])
        for value in 0..<3 {
            let claim = try #require(ring.claim(eventCount: 1))
            ring.publish(value * 10, for: claim)
        }
        let consumer = ring.consumers[0]
        var seen: [Int] = []
        var ends: [Bool] = []
        for _ in 0..<3 {
            guard case .element(let value, let sequence, let endOfRun) = ring.poll(consumer) else {
                Issue.record("expected an element")
                return
            }
            seen.append(value)
            ends.append(endOfRun)
            ring.commit(consumer, sequence: sequence)
        }
        #expect(seen == [0, 10, 20])
        #expect(ends == [false, false, true])
    }

    @Test func wrapsAroundManyTimes() throws {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [true, true])
        var seen: [[Int]] = [[], []]
        for value in 0..<1000 {
            let claim = try #require(ring.claim(eventCount: 1))
            ring.publish(value, for: claim)
            for (index, consumer) in ring.consumers.enumerated() {
                guard case .element(let read, let sequence, _) = ring.poll(consumer) else {
                    Issue.record("expected an element")
                    return
                }
                seen[index].append(read)
                ring.commit(consumer, sequence: sequence)
            }
        }
        #expect(seen[0] == Array(0..<1000))
        #expect(seen[1] == Array(0..<1000))
    }

    @Test func pollTimesOutWhenNothingIsPublished() {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [true])
        let deadline = MonotonicClock.nowNanoseconds() + 20_000_000
        guard case .timedOut = ring.poll(ring.consumers[0], deadlineNanoseconds: deadline) else {
            Issue.record("expected a timeout")
            return
        }
        #expect(MonotonicClock.nowNanoseconds() >= deadline)
    }

    @Test func closeDrainsWhatWasPublishedThenFinishes() throws {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [true])
        for value in 0..<3 {
            ring.publish(value, for: try #require(ring.claim(eventCount: 1)))
        }
        ring.close()
        #expect(ring.claim(eventCount: 1) == nil)
        let consumer = ring.consumers[0]
        var seen: [Int] = []
        while case .element(let value, let sequence, _) = ring.poll(consumer) {
            seen.append(value)
            ring.commit(consumer, sequence: sequence)
        }
        #expect(seen == [0, 1, 2])
        guard case .finished = ring.poll(consumer) else {
            Issue.record("expected the end")
            return
        }
    }

    @Test func theLastConsumerToCommitReleasesTheElement() throws {
        let ring = EventRing<Tracked>(capacity: 4, consumerGating: [true, true])
        weak var weakElement: Tracked?
        do {
            let element = Tracked(1)
            weakElement = element
            ring.publish(element, for: try #require(ring.claim(eventCount: 1)))
        }
        for consumer in ring.consumers {
            guard case .element(_, let sequence, _) = ring.poll(consumer) else {
                Issue.record("expected an element")
                return
            }
            #expect(weakElement != nil)
            ring.commit(consumer, sequence: sequence)
        }
        #expect(weakElement == nil)
    }

    @Test func claimsCarryARunningEventTotal() throws {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [])
        let first = try #require(ring.claim(eventCount: 5))
        let second = try #require(ring.claim(eventCount: 7))
        #expect(first.eventsBefore == 0)
        #expect(second.eventsBefore == 5)
        #expect(ring.claimedEvents == 12)
    }

    @Test func aConsumerThatDoesNotGateCountsExactlyWhatItMissed() throws {
        let ring = EventRing<Int>(capacity: 8, consumerGating: [false])
        var published = 0
        for value in 0..<100 {
            let events = value % 7 + 1
            ring.publish(value, for: try #require(ring.claim(eventCount: events)))
            published += events
        }
        ring.close()
        let consumer = ring.consumers[0]
        var readEvents = 0
        var lastValue = -1
        while case .element(let value, let sequence, _) = ring.poll(consumer) {
            #expect(value > lastValue)
            lastValue = value
            readEvents += value % 7 + 1
            ring.commit(consumer, sequence: sequence)
        }
        #expect(lastValue == 99)
        #expect(consumer.droppedEvents > 0)
        #expect(readEvents + consumer.droppedEvents == published)
    }

    @Test func aGatingConsumerNeverDrops() throws {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [true])
        for value in 0..<4 {
            ring.publish(value, for: try #require(ring.claim(eventCount: 3)))
        }
        let consumer = ring.consumers[0]
        while case .element(_, let sequence, let endOfRun) = ring.poll(consumer) {
            ring.commit(consumer, sequence: sequence)
            if endOfRun { break }
        }
        #expect(consumer.droppedEvents == 0)
        #expect(ring.occupancy == 0)
    }

    @Test func everyElementIsReleasedOnceWhetherReadCommittedOrOverwritten() throws {
        let released = SharedCounter()
        do {
            let ring = EventRing<Counted>(capacity: 4, consumerGating: [true, false])
            let gating = ring.consumers[0]
            let lapping = ring.consumers[1]
            for value in 0..<20 {
                ring.publish(Counted(value, counter: released), for: try #require(ring.claim(eventCount: 1)))
                guard case .element(_, let sequence, _) = ring.poll(gating) else {
                    Issue.record("expected an element")
                    return
                }
                ring.commit(gating, sequence: sequence)
            }
            // The consumer that does not gate read nothing: every node but the last four was
            // replaced, and their elements are gone already.
            #expect(released.value == 16)
            var read = 0
            while case .element(_, let sequence, let endOfRun) = ring.poll(lapping) {
                read += 1
                ring.commit(lapping, sequence: sequence)
                if endOfRun { break }
            }
            #expect(released.value == 20)
            #expect(read + lapping.droppedEvents == 20)
        }
        #expect(released.value == 20)
    }

    @Test func anAbandonedConsumerLeavesWhatItHadNotCommitted() throws {
        let ring = EventRing<Int>(capacity: 8, consumerGating: [true, false])
        for value in 0..<5 {
            ring.publish(value, for: try #require(ring.claim(eventCount: 1)))
        }
        let gating = ring.consumers[0]
        guard case .element(_, let sequence, _) = ring.poll(gating) else {
            Issue.record("expected an element")
            return
        }
        #expect(ring.abandon(gating) == [0, 1, 2, 3, 4])
        ring.commit(gating, sequence: sequence)
        #expect(gating.committedSequences == 0, "a commit after abandon took effect")
        #expect(ring.abandon(gating) == [0, 1, 2, 3, 4])
        #expect(ring.abandon(ring.consumers[1]) == [0, 1, 2, 3, 4])
    }
}

/// Counts its own release; a `SharedReference` can hold it too.
final class Counted: PinCounted, @unchecked Sendable {
    let value: Int
    private let counter: SharedCounter

    init(_ value: Int, counter: SharedCounter) {
        self.value = value
        self.counter = counter
    }

    deinit { counter.add() }
}

/// A count shared between a test and its threads.
final class SharedCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
    func add() { count.add(1, ordering: .sequentiallyConsistent) }
}
