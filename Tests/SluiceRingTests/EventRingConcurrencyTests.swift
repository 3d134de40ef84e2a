import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing

/// An element tagged with its producer and that producer's running number.
struct Tagged: Sendable {
    let producer: Int
    let number: Int
}

@Suite("EventRing, many threads", .timeLimit(.minutes(2)), .watchdog)
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

    @Test func aDroppingConsumerNeverHoldsProducersBackAndAccountsForEverything() {
        let total = 50_000
        let ring = EventRing<Tagged>(capacity: 8, consumerGating: [true, false])
        let fast = ReaderThread(ring: ring, consumer: ring.consumers[0], producers: 1)
        let slow = ReaderThread(ring: ring, consumer: ring.consumers[1], producers: 1, yieldEvery: 1)
        let writer = TestThread {
            for number in 0..<total {
                guard let claim = ring.claim(eventCount: 1) else { return }
                ring.publish(Tagged(producer: 0, number: number), for: claim)
            }
        }
        #expect(writer.join())
        ring.close()
        #expect(fast.thread.join())
        #expect(slow.thread.join())
        let fastResult = fast.result
        let slowResult = slow.result
        #expect(fastResult.perProducer == [total])
        #expect(slowResult.outOfOrder == 0)
        #expect(slowResult.perProducer[0] + ring.consumers[1].droppedEvents == total)
    }
}

/// What a reader saw, filled in when its thread ends.
final class ReaderResultBox: Sendable {
    struct Result: Sendable {
        var perProducer: [Int]
        var outOfOrder = 0
    }

    let stored: Mutex<Result?> = Mutex(nil)
}

/// Reads a ring to the end on its own thread, checking per-producer order.
struct ReaderThread {
    let thread: TestThread
    private let box = ReaderResultBox()

    var result: ReaderResultBox.Result {
        box.stored.withLock { $0 } ?? ReaderResultBox.Result(perProducer: [])
    }

    init(ring: EventRing<Tagged>, consumer: RingConsumer, producers: Int, yieldEvery: Int = 0) {
        let box = self.box
        thread = TestThread {
            var last = Array(repeating: -1, count: producers)
            var local = ReaderResultBox.Result(perProducer: Array(repeating: 0, count: producers))
            var reads = 0
            while case .element(let tagged, let sequence, _) = ring.poll(consumer) {
                if tagged.number <= last[tagged.producer] { local.outOfOrder += 1 }
                last[tagged.producer] = tagged.number
                local.perProducer[tagged.producer] += 1
                reads += 1
                if yieldEvery > 0 && reads % yieldEvery == 0 {
                    for _ in 0..<200 { _ = MonotonicClock.nowNanoseconds() }
                }
                ring.commit(consumer, sequence: sequence)
            }
            box.stored.withLock { $0 = local }
        }
    }
}
