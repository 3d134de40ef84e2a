import Testing
import SluiceTesting

@testable import SluiceSinks

@Suite(.timeLimit(.minutes(2)), .watchdog) struct DeliveryStateMachineTests {
    private var settings: DeliveryStateMachine.Settings {
        var settings = DeliveryStateMachine.Settings()
        settings.initialBackoffNanoseconds = 100
        settings.maximumBackoffNanoseconds = 350
        settings.unauthorizedBackoffNanoseconds = 10_000
        return settings
    }

    @Test func everythingAcceptedAtOnce() {
        var machine = DeliveryStateMachine(itemCount: 3, settings: settings)
        #expect(machine.next() == .send([0, 1, 2]))
        machine.handle(.accepted)
        #expect(machine.next() == .finished)
        #expect(machine.accepted == [0, 1, 2])
        #expect(machine.deadLetters.isEmpty)
    }

    @Test func failedItemsAreRetriedAloneAndRejectedOnesDeadLettered() {
        var machine = DeliveryStateMachine(itemCount: 4, settings: settings)
        #expect(machine.next() == .send([0, 1, 2, 3]))
        machine.handle(.perItem([.accepted, .retry("429"), .rejected(status: 400, reason: "mapper_parsing_exception: bad"), .retry("503")]))
        #expect(machine.next() == .wait(nanoseconds: 100, reason: "2 items asked to retry: 503"))
        #expect(machine.next() == .send([1, 3]))
        machine.handle(.perItem([.accepted, .accepted]))
        #expect(machine.next() == .finished)
        #expect(machine.accepted.sorted() == [0, 1, 3])
        #expect(machine.deadLetters.map(\.item) == [2])
        #expect(machine.deadLetters.first?.status == 400)
    }

    @Test func wholeRequestFailuresBackOffExponentiallyUpToTheCap() {
        var machine = DeliveryStateMachine(itemCount: 2, settings: settings)
        var waits: [UInt64] = []
        for _ in 0..<4 {
            #expect(machine.next() == .send([0, 1]))
            machine.handle(.retryable("HTTP 503"))
            guard case .wait(let nanoseconds, _) = machine.next() else {
                Issue.record("expected a wait")
                return
            }
            waits.append(nanoseconds)
        }
        #expect(waits == [100, 200, 350, 350])
        #expect(machine.next() == .send([0, 1]))
        machine.handle(.accepted)
        #expect(machine.next() == .finished)
        #expect(machine.attempts == 5)
    }

    @Test func tooLargeSplitsInHalvesAndASingleOversizedEventIsRejected() {
        var machine = DeliveryStateMachine(itemCount: 3, settings: settings)
        #expect(machine.next() == .send([0, 1, 2]))
        machine.handle(.tooLarge)
        #expect(machine.next() == .send([0]))
        machine.handle(.tooLarge)
        #expect(machine.next() == .send([1, 2]))
        machine.handle(.accepted)
        #expect(machine.next() == .finished)
        #expect(machine.accepted == [1, 2])
        #expect(machine.deadLetters.map(\.status) == [413])
    }

    @Test func unauthorizedWaitsLongAndTriesAgain() {
        var machine = DeliveryStateMachine(itemCount: 1, settings: settings)
        _ = machine.next()
        machine.handle(.unauthorized("HTTP 401"))
        #expect(machine.next() == .wait(nanoseconds: 10_000, reason: "HTTP 401"))
        #expect(machine.next() == .send([0]))
        #expect(machine.unsettled == [0])
    }

    @Test func aRejectedRequestDeadLettersEveryItem() {
        var machine = DeliveryStateMachine(itemCount: 2, settings: settings)
        _ = machine.next()
        machine.handle(.rejected(status: 404, reason: "HTTP 404: no such index"))
        #expect(machine.next() == .finished)
        #expect(machine.deadLetters.map(\.item) == [0, 1])
        #expect(machine.deadLetters.map(\.status) == [404, 404])
    }
}
