import Foundation
import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing
import SluiceSync

/// An element tagged with its producer and that producer's running number.
struct Tagged: Sendable {
    let producer: Int
    let number: Int
}

@Suite("EventRing, many threads", .timeLimit(.minutes(10)), .watchdog)
struct EventRingConcurrencyTests {
    @Test func aFullRingHoldsTheProducerUntilTheConsumerCommits() throws {
        let ring = EventRing<Int>(capacity: 2, consumerGating: [true])
        for value in 0..<2 {
            ring.publish(value, for: try #require(ring.claim(eventCount: 1)))
        }
        let claimedThird = SharedInt(0)
        let producer = TestThread {
            if let claim = ring.claim(eventCount: 1) {
                claimedThird.set(1)
                ring.publish(2, for: claim)
            }
        }
        // A negative check needs some time to pass; a slower machine only makes it stricter.
        #expect(!producer.join(seconds: 0.2))
        #expect(claimedThird.value == 0)
        let consumer = ring.consumers[0]
        guard case .element(_, let sequence, _) = ring.poll(consumer) else {
            Issue.record("expected an element")
            return
        }
        ring.commit(consumer, sequence: sequence)
        #expect(producer.join())
        #expect(claimedThird.value == 1)
    }

    @Test func closingWakesABlockedProducerWithNoClaim() throws {
        let ring = EventRing<Int>(capacity: 1, consumerGating: [true])
        ring.publish(0, for: try #require(ring.claim(eventCount: 1)))
        let gotClaim = SharedInt(-1)
        let producer = TestThread {
            gotClaim.set(ring.claim(eventCount: 1) == nil ? 0 : 1)
        }
        #expect(!producer.join(seconds: 0.1))
        ring.close()
        #expect(producer.join())
        #expect(gotClaim.value == 0)
    }

    @Test func aParkedConsumerWakesWhenDataArrives() throws {
        let ring = EventRing<Int>(capacity: 4, consumerGating: [true])
        let received = SharedInt(-1)
        let consumer = TestThread {
            if case .element(let value, _, _) = ring.poll(ring.consumers[0]) {
                received.set(value)
            }
        }
        #expect(!consumer.join(seconds: 0.1))
        ring.publish(42, for: try #require(ring.claim(eventCount: 1)))
        #expect(consumer.join())
        #expect(received.value == 42)
    }

    @Test(arguments: [(producers: 1, consumers: 1), (producers: 3, consumers: 1), (producers: 3, consumers: 3)])
    func everyGatingConsumerSeesEveryElementOnceInProducerOrder(producers: Int, consumers: Int) {
        let perProducer = 20_000
        let ring = EventRing<Tagged>(capacity: 16, consumerGating: Array(repeating: true, count: consumers))
        let readers = ring.consumers.map { consumer in
            ReaderThread(ring: ring, consumer: consumer, producers: producers)
        }
        let writers = (0..<producers).map { producer in
            TestThread {
                for number in 0..<perProducer {
                    guard let claim = ring.claim(eventCount: 1) else { return }
                    ring.publish(Tagged(producer: producer, number: number), for: claim)
                }
            }
        }
        for writer in writers { #expect(writer.join()) }
        ring.close()
        for reader in readers {
            #expect(reader.thread.join())
            let result = reader.result
            #expect(result.outOfOrder == 0)
            #expect(result.perProducer == Array(repeating: perProducer, count: producers))
        }
    }

    /// A `drop_oldest` consumer that stops reading never holds the producer back: the writer
    /// publishes everything while that consumer is stuck after its first element, and the
    /// consumer then counts exactly what was overwritten.
    @Test func aDroppingConsumerNeverHoldsProducersBackAndAccountsForEverything() {
        let total = 50_000
        let ring = EventRing<Tagged>(capacity: 8, consumerGating: [true, false])
        let writerDone = DispatchSemaphore(value: 0)
        let fast = ReaderThread(ring: ring, consumer: ring.consumers[0], producers: 1)
        let stuck = ReaderThread(ring: ring, consumer: ring.consumers[1], producers: 1, stopAfterFirst: writerDone)
        let writer = TestThread {
            for number in 0..<total {
                guard let claim = ring.claim(eventCount: 1) else { return }
                ring.publish(Tagged(producer: 0, number: number), for: claim)
            }
        }
        #expect(writer.join(), "the writer was held back by a consumer that does not gate")
        #expect(ring.claimedSequences == total)
        writerDone.signal()
        ring.close()
        #expect(fast.thread.join())
        #expect(stuck.thread.join())
        let fastResult = fast.result
        let stuckResult = stuck.result
        #expect(fastResult.perProducer == [total])
        #expect(stuckResult.outOfOrder == 0)
        #expect(ring.consumers[1].droppedEvents >= total - 2 * ring.capacity, "the stuck consumer was overrun")
        #expect(stuckResult.perProducer[0] + ring.consumers[1].droppedEvents == total)
    }

    /// Producer and consumer hand every element over through a one-slot ring, parking each
    /// time (no spinning, no yielding): a lost wake-up would leave one side asleep for good.
    @Test func parkedThreadsNeverMissAWakeUp() {
        let total = 100_000
        let ring = EventRing<Tagged>(capacity: 1, consumerGating: [true], waitStrategy: WaitStrategy(spinChecks: 0, yieldChecks: 0))
        let reader = ReaderThread(ring: ring, consumer: ring.consumers[0], producers: 1)
        let writer = TestThread {
            for number in 0..<total {
                guard let claim = ring.claim(eventCount: 1) else { return }
                ring.publish(Tagged(producer: 0, number: number), for: claim)
            }
            ring.close()
        }
        #expect(writer.join(seconds: 90), "the producer slept through a consumer's commit")
        #expect(reader.thread.join(seconds: 30), "the consumer slept through a publish")
        #expect(reader.result.perProducer == [total])
    }
}

/// What a reader saw, filled in when its thread ends.
final class ReaderResultBox: Sendable {
    struct Result: Sendable {
        var perProducer: [Int]
        var outOfOrder = 0
        /// Events read, each element counting as `eventsOf` says.
        var events = 0
    }

    let stored = Locked<Result?>(nil)
}

/// Reads a ring to the end on its own thread, checking per-producer order.
struct ReaderThread {
    let thread: TestThread
    private let box = ReaderResultBox()

    var result: ReaderResultBox.Result {
        box.stored.withLock { $0 } ?? ReaderResultBox.Result(perProducer: [])
    }

    /// - Parameters:
    ///   - stopAfterFirst: when given, the reader stops after its first element until the
    ///     semaphore is signalled.
    ///   - eventsOf: how many events an element stands for.
    init(
        ring: EventRing<Tagged>, consumer: RingConsumer, producers: Int, stopAfterFirst: DispatchSemaphore? = nil,
        eventsOf: @escaping @Sendable (Tagged) -> Int = { _ in 1 }
    ) {
        let box = self.box
        thread = TestThread {
            var last = Array(repeating: -1, count: producers)
            var local = ReaderResultBox.Result(perProducer: Array(repeating: 0, count: producers))
            var reads = 0
            while case .element(let tagged, let sequence, _) = ring.poll(consumer) {
                if tagged.number <= last[tagged.producer] { local.outOfOrder += 1 }
                last[tagged.producer] = tagged.number
                local.perProducer[tagged.producer] += 1
                local.events += eventsOf(tagged)
                reads += 1
                if reads == 1, let stopAfterFirst { stopAfterFirst.wait() }
                ring.commit(consumer, sequence: sequence)
            }
            box.stored.withLock { $0 = local }
        }
    }
}
