import Foundation
import Testing
import SluiceTesting

@testable import SluiceSinks

@Suite(.timeLimit(.minutes(10)), .watchdog) struct DeliveryStateMachineTests {
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

    /// A server's `Retry-After` replaces the backoff (up to five minutes); a partial rejection
    /// that names no item settles the rest as accepted and the count as rejected.
    @Test func retryAfterAndUnnamedPartialRejections() {
        var machine = DeliveryStateMachine(itemCount: 3, settings: settings)
        #expect(machine.next() == .send([0, 1, 2]))
        machine.handle(.retryable("HTTP 503"), retryAfterNanoseconds: 2_000_000_000)
        #expect(machine.next() == .wait(nanoseconds: 2_000_000_000, reason: "HTTP 503"))
        #expect(machine.next() == .send([0, 1, 2]))
        machine.handle(.retryable("HTTP 429"), retryAfterNanoseconds: 3_600_000_000_000)
        #expect(machine.next() == .wait(nanoseconds: 300_000_000_000, reason: "HTTP 429"))
        #expect(machine.next() == .send([0, 1, 2]))
        machine.handle(.partiallyRejected(count: 2, reason: "no body"))
        #expect(machine.next() == .finished)
        #expect(machine.accepted == [0])
        #expect(machine.rejectedUnnamed == [1, 2])
        #expect(machine.partialRejectionReason == "no body")
    }

    @Test func retryAfterIsReadAsSecondsOrAnHTTPDate() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2026-12-01T10:00:00Z"))
        #expect(RetryAfter.nanoseconds(from: "7", now: now) == 7_000_000_000)
        #expect(RetryAfter.nanoseconds(from: "Tue, 01 Dec 2026 10:00:30 GMT", now: now) == 30_000_000_000)
        #expect(RetryAfter.nanoseconds(from: "Tue, 01 Dec 2026 09:00:00 GMT", now: now) == 0)
        #expect(RetryAfter.nanoseconds(from: "soon", now: now) == nil)
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
