import SluiceTesting
import Testing

@testable import SluiceBuffer

/// The disk buffer's acknowledgement rules, without files or threads. (`#expect` cannot call a
/// mutating method, so each step's result is named first.)
@Suite(.timeLimit(.minutes(10)), .watchdog) struct AcknowledgementLedgerTests {
    private func record(events: Int = 10, segment: UInt64 = 0, appendedAt: Int64 = 0) -> AcknowledgementLedger.HandedOut {
        AcknowledgementLedger.HandedOut(events: events, appendedAt: appendedAt, segmentFirstSequence: segment, offset: 0)
    }

    @Test func thePositionStopsAtTheFirstRecordNotAcknowledgedWhateverTheOrder() {
        var ledger = AcknowledgementLedger()
        for sequence: UInt64 in 0..<4 { ledger.handOut(sequence, record()) }
        let movedWithNoneAcknowledged = ledger.advance(unread: 4)
        #expect(!movedWithNoneAcknowledged && ledger.position == 0)
        let acknowledged = [2, 1].map { ledger.acknowledge($0) != nil }
        let movedWithZeroOut = ledger.advance(unread: 4)
        #expect(acknowledged == [true, true] && !movedWithZeroOut && ledger.position == 0, "0 is still out")
        _ = ledger.acknowledge(0)
        let movedPastTheRun = ledger.advance(unread: 4)
        #expect(movedPastTheRun && ledger.position == 3)
        _ = ledger.acknowledge(3)
        let movedToTheUnread = ledger.advance(unread: 4)
        #expect(movedToTheUnread && ledger.position == 4 && ledger.isSettled)
        let twice = ledger.acknowledge(3)
        #expect(twice == nil, "an acknowledgement counts once")
    }

    @Test func aRecordGivenBackHoldsThePositionAndComesOutFirstLowestSequenceFirst() {
        var ledger = AcknowledgementLedger()
        for sequence: UInt64 in 0..<3 { ledger.handOut(sequence, record(appendedAt: Int64(sequence) * 100)) }
        let kept = [2, 1].map { ledger.giveBack($0, segmentExists: { _ in true })?.kept }
        _ = ledger.acknowledge(0)
        let moved = ledger.advance(unread: 3)
        #expect(kept == [true, true] && moved && ledger.position == 1, "what was given back is not acknowledged")
        #expect(ledger.hasGivenBack && !ledger.isSettled && ledger.oldestAppendedAt == 100)
        #expect(ledger.firstGivenBack?.sequence == 1)
        let again = ledger.takeGivenBack(1)
        let secondTake = ledger.takeGivenBack(1)
        #expect(again != nil && secondTake == nil, "taken once")
        ledger.handOut(1, again!)
        #expect(ledger.firstGivenBack?.sequence == 2)
    }

    @Test func aRecordGivenBackAfterItsSegmentWasEvictedIsNotKept() {
        var ledger = AcknowledgementLedger()
        ledger.handOut(5, record(events: 7, segment: 5))
        let given = ledger.giveBack(5, segmentExists: { _ in false })
        #expect(given?.kept == false && given?.record.events == 7 && ledger.isSettled)
        let givenAgain = ledger.giveBack(5, segmentExists: { _ in true })
        #expect(givenAgain == nil, "no longer handed out")
    }

    @Test func evictingASegmentTakesTheRecordsGivenBackFromItAndCountsTheirEvents() {
        var ledger = AcknowledgementLedger()
        ledger.handOut(0, record(events: 3, segment: 0))
        ledger.handOut(1, record(events: 4, segment: 0))
        ledger.handOut(9, record(events: 5, segment: 9))
        for sequence: UInt64 in [0, 1, 9] { _ = ledger.giveBack(sequence, segmentExists: { _ in true }) }
        let evictedEvents = ledger.evict(segmentFirstSequence: 0)
        let moved = ledger.advance(unread: 20)
        #expect(evictedEvents == 7 && ledger.firstGivenBack?.sequence == 9)
        #expect(moved && ledger.position == 9)
    }

    @Test func aPositionRecoveredFromDiskIsWhereCountingResumes() {
        var ledger = AcknowledgementLedger(position: 1_000)
        let movedWithNothingRead = ledger.advance(unread: 1_000)
        ledger.handOut(1_000, record())
        let movedWhileOut = ledger.advance(unread: 1_001)
        _ = ledger.acknowledge(1_000)
        let moved = ledger.advance(unread: 1_001)
        #expect(!movedWithNothingRead && !movedWhileOut && moved && ledger.position == 1_001)
    }
}
