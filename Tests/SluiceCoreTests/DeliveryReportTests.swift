import SluiceSync
import SluiceTesting
import Testing

@testable import SluiceCore

/// Records what a sink's report tells the buffer; `keeps` says whether the buffer still has
/// a record that is given back.
private final class RecordingAcknowledger: DeliveryAcknowledger, @unchecked Sendable {
    let calls = Locked<[String]>([])
    let keeps: Bool

    init(keeps: Bool = true) {
        self.keeps = keeps
    }

    func acknowledge(_ ticket: DeliveryTicket) {
        calls.withLock { $0.append("acknowledge \(ticket.number)") }
    }

    func release(_ ticket: DeliveryTicket) -> Bool {
        calls.withLock { $0.append("release \(ticket.number)") }
        return keeps
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct DeliveryReportTests {
    private func report(_ acknowledger: RecordingAcknowledger?) -> DeliveryReport {
        DeliveryReport(counters: SinkCounters(name: "sink"), shutdown: ShutdownSignal(), acknowledger: acknowledger)
    }

    /// Behind memory, events dropped for the stop are dropped, and counted.
    @Test func withoutABufferTheStopDrops() {
        let report = report(nil)
        report.dropped(DeliveryTicket(0), .shutdown, events: 10)
        #expect(report.counters.dropped(.shutdown).current == 10)
        #expect(!report.keepsWhatTheStopLeaves)
    }

    /// A ticket settled in parts, by delivery and by other drops, is acknowledged once, when the
    /// last part settles.
    @Test func aTicketIsAcknowledgedOnceWhenEveryEventIsSettled() {
        let buffer = RecordingAcknowledger()
        let report = report(buffer)
        report.issue(DeliveryTicket(4), events: 10)
        report.delivered(DeliveryTicket(4), events: 6, bytes: 600)
        #expect(buffer.calls.withLock { $0 }.isEmpty)
        report.dropped(DeliveryTicket(4), .deadLettered, events: 4)
        #expect(buffer.calls.withLock { $0 } == ["acknowledge 4"])
        #expect(report.counters.events.current == 6)
        #expect(report.counters.dropped(.deadLettered).current == 4)
    }

    /// Part of a ticket dropped for the stop: the whole record goes back to the buffer (not
    /// acknowledged), and nothing is counted as dropped.
    @Test func aTicketPartlyLeftByTheStopGoesBackToTheBuffer() {
        let buffer = RecordingAcknowledger()
        let report = report(buffer)
        report.issue(DeliveryTicket(1), events: 10)
        report.dropped(DeliveryTicket(1), .shutdown, events: 3)
        report.delivered(DeliveryTicket(1), events: 7, bytes: 700)
        #expect(buffer.calls.withLock { $0 } == ["release 1"])
        #expect(report.counters.dropped(.shutdown).current == 0)
    }

    /// A record the buffer no longer has (its `drop_oldest` evicted it) is lost: counted.
    @Test func aRecordTheBufferEvictedIsCountedAsOverrun() {
        let buffer = RecordingAcknowledger(keeps: false)
        let report = report(buffer)
        report.issue(DeliveryTicket(2), events: 10)
        report.dropped(DeliveryTicket(2), .shutdown, events: 10)
        #expect(buffer.calls.withLock { $0 } == ["release 2"])
        #expect(report.counters.dropped(.bufferOverrun).current == 10)
    }
}
