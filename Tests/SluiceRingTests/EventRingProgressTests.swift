import Foundation
import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing

/// The ring's claim that no lock is on the event path, tested: threads stopped at every step of
/// the protocol (`RingStep`) through the ring's test hook, at random or for good, and what the
/// others still do meanwhile.
@Suite("EventRing, stalled threads", .timeLimit(.minutes(10)), .watchdog)
struct EventRingProgressTests {
    /// Many producers and consumers of both kinds, with random stalls (yields and sleeps of up to
    /// a fifth of a millisecond) at every step of claim, publish, read and commit: every gating
    /// consumer gets every element once, in each producer's order; every consumer that does not
    /// gate gets a subsequence in order and counts exactly the events it missed.
    @Test(arguments: [2, 4])
    func randomStallsAtEveryStepKeepOrderAndExactCounts(producers: Int) {
        let perProducer = 2_000
        let ring = EventRing<Tagged>(capacity: 8, consumerGating: [true, true, false, false], stepHook: randomStall)
        let readers = ring.consumers.map { ReaderThread(ring: ring, consumer: $0, producers: producers, eventsOf: Self.events) }
        let writers = (0..<producers).map { producer in
            TestThread {
                for number in 0..<perProducer {
                    guard let claim = ring.claim(eventCount: Self.events(Tagged(producer: producer, number: number))) else { return }
                    ring.publish(Tagged(producer: producer, number: number), for: claim)
                }
            }
        }
        for writer in writers { #expect(writer.join(seconds: 120)) }
        ring.close()
        let totalEvents = (0..<perProducer).reduce(0) { $0 + Self.events(Tagged(producer: 0, number: $1)) } * producers
        #expect(ring.claimedEvents == totalEvents)
        for (reader, consumer) in zip(readers, ring.consumers) {
            #expect(reader.thread.join(seconds: 60))
            let result = reader.result
            #expect(result.outOfOrder == 0)
            if consumer.gatesProducers {
                #expect(result.perProducer == Array(repeating: perProducer, count: producers))
                #expect(consumer.droppedEvents == 0)
            } else {
                #expect(result.events + consumer.droppedEvents == totalEvents)
            }
        }
    }

    /// A producer stopped between its claim and its publish holds up only what comes after its
    /// sequence: the other producers claim and publish until the ring is full behind it, and the
    /// consumers read and commit everything before it.
    @Test func aProducerStoppedBeforePublishingHoldsUpOnlyItsOwnSequence() throws {
        let frozen = 3
        let gate = Gate(at: .claimed(sequence: frozen))
        let ring = EventRing<Tagged>(capacity: 8, consumerGating: [true, false], stepHook: gate.hook)
        let readers = ring.consumers.map { ReaderThread(ring: ring, consumer: $0, producers: 3) }
        let stopped = TestThread {
            for number in 0...frozen {
                guard let claim = ring.claim(eventCount: 1) else { return }
                ring.publish(Tagged(producer: 0, number: number), for: claim)
            }
        }
        try gate.waitUntilReached()
        let others = (1...2).map { producer in
            TestThread {
                for number in 0..<20 {
                    guard let claim = ring.claim(eventCount: 1) else { return }
                    ring.publish(Tagged(producer: producer, number: number), for: claim)
                }
            }
        }
        // Full behind the stopped claim: sequences up to frozen + capacity - 1 claimed.
        #expect(eventually(seconds: 30) { ring.claimedSequences == frozen + ring.capacity })
        #expect(
            // The consumer that does not gate may also have been lapped past it meanwhile.
            eventually(seconds: 30) { ring.consumers[0].committedSequences == frozen && ring.consumers[1].committedSequences >= frozen },
            "committed: \(ring.consumers.map(\.committedSequences)), claimed \(ring.claimedSequences)"
        )
        gate.open()
        #expect(stopped.join())
        for other in others { #expect(other.join()) }
        ring.close()
        for reader in readers { #expect(reader.thread.join()) }
        #expect(readers[0].result.perProducer == [frozen + 1, 20, 20])
    }

    /// A gating consumer stopped in the middle of a read holds up only the producers, once the
    /// ring is full behind it; the other consumers read everything published meanwhile.
    @Test func aGatingConsumerStoppedWhileReadingHoldsUpNoOtherConsumer() throws {
        let gate = Gate(at: .reading(sequence: 2, gating: true))
        let ring = EventRing<Tagged>(capacity: 8, consumerGating: [true, true, false], stepHook: gate.hook)
        let writer = TestThread {
            for number in 0..<40 {
                guard let claim = ring.claim(eventCount: 1) else { return }
                ring.publish(Tagged(producer: 0, number: number), for: claim)
            }
        }
        let stopped = ReaderThread(ring: ring, consumer: ring.consumers[0], producers: 1)
        try gate.waitUntilReached()
        let others = ring.consumers.dropFirst().map { ReaderThread(ring: ring, consumer: $0, producers: 1) }
        #expect(eventually(seconds: 30) { ring.claimedSequences == 2 + ring.capacity })
        #expect(eventually(seconds: 30) { ring.consumers.dropFirst().allSatisfy { $0.committedSequences == 2 + ring.capacity } })
        gate.open()
        #expect(writer.join())
        ring.close()
        #expect(stopped.thread.join())
        for other in others { #expect(other.thread.join()) }
        #expect(stopped.result.perProducer == [40])
        #expect(others[0].result.perProducer == [40])
    }

    /// A consumer that does not gate, stopped while it holds a cell's node pinned, holds up
    /// nobody: the producer laps it hundreds of times, every element is released once (none
    /// early: the stopped consumer still reads the one it pinned), and it counts what it missed.
    @Test func aDroppingConsumerStoppedWhilePinnedHoldsUpNobody() throws {
        let total = 2_000
        let released = SharedCounter()
        let gate = Gate(at: .reading(sequence: 0, gating: false))
        do {
            let ring = EventRing<Counted>(capacity: 8, consumerGating: [true, false], stepHook: gate.hook)
            let reads = [SharedCounter(), SharedCounter()]
            let readers = ring.consumers.enumerated().map { index, consumer in
                TestThread { [unowned ring] in
                    var last = -1
                    while case .element(let element, let sequence, _) = ring.poll(consumer) {
                        if element.value > last { reads[index].add() }
                        last = element.value
                        ring.commit(consumer, sequence: sequence)
                    }
                }
            }
            ring.publish(Counted(0, counter: released), for: try #require(ring.claim(eventCount: 1)))
            try gate.waitUntilReached()
            let writer = TestThread { [unowned ring] in
                for value in 1..<total {
                    guard let claim = ring.claim(eventCount: 1) else { return }
                    ring.publish(Counted(value, counter: released), for: claim)
                }
            }
            #expect(writer.join(), "the producer was held up by a pinned reader")
            #expect(released.value >= total - 2 * ring.capacity - 1)
            gate.open()
            ring.close()
            for reader in readers { #expect(reader.join()) }
            #expect(reads[0].value == total)
            #expect(reads[1].value + ring.consumers[1].droppedEvents == total)
            #expect(ring.consumers[1].droppedEvents >= total - 2 * ring.capacity - 1)
        }
        // The threads hold the ring unowned: it is gone, with the last nodes it held.
        #expect(released.value == total)
    }

    static func events(_ tagged: Tagged) -> Int {
        tagged.number % 3 + 1
    }
}

/// Yields at about one step in sixteen and sleeps up to 200 µs at about one in 256.
@Sendable private func randomStall(_ step: RingStep) {
    let draw = UInt8.random(in: 0...255)
    if draw == 0 {
        usleep(UInt32.random(in: 1...200))
    } else if draw < 16 {
        sched_yield()
    }
}

/// Stops the first thread that reaches one `RingStep` until the test opens it.
final class Gate: Sendable {
    private let step: RingStep
    private let reached = DispatchSemaphore(value: 0)
    private let opened = DispatchSemaphore(value: 0)
    private let used = Atomic<Bool>(false)

    init(at step: RingStep) {
        self.step = step
    }

    var hook: @Sendable (RingStep) -> Void {
        { [self] step in
            guard step == self.step, !used.exchange(true, ordering: .acquiringAndReleasing) else { return }
            reached.signal()
            opened.wait()
        }
    }

    func waitUntilReached() throws {
        try #require(reached.wait(timeout: .now() + 30) == .success, "no thread reached \(step)")
    }

    func open() {
        opened.signal()
    }
}

/// Polls `condition` every millisecond until it holds or `seconds` pass.
func eventually(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(1_000)
    }
    return condition()
}
