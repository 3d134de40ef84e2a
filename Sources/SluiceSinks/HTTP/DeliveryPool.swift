import Logging
import SluiceCore

/// `max_in_flight` threads, each taking a request batch and seeing it through: sending,
/// retrying what the server asks to retry (with jittered exponential backoff), splitting what is
/// too large, dead-lettering what it rejects. A batch holds its thread until it is settled, so
/// retries count against `max_in_flight` and never pile up: when every thread is busy, the sink
/// waits, and under `block` so do the sources.
final class DeliveryPool: @unchecked Sendable {
    // @unchecked: the queue synchronises itself; everything else is immutable or thread-safe
    // (the client, the slot, the dead-letter file).
    private let queue: BoundedQueue<RequestBatch>
    private var workers: [NamedThread] = []
    private let client: DeliveryClient
    private let format: any DeliveryFormat
    private let report: DeliveryReport
    private let deadLetters: DeadLetterFile?
    private let settings: HTTPDeliverySettings
    private let sinkName: String
    private let logger = Logger(label: "sluice.sink")

    init(client: DeliveryClient, format: any DeliveryFormat, report: DeliveryReport, settings: HTTPDeliverySettings, sinkName: String) {
        self.client = client
        self.format = format
        self.report = report
        self.settings = settings
        self.sinkName = sinkName
        deadLetters = settings.deadLetterPath.map { DeadLetterFile(path: $0, sinkName: sinkName) }
        queue = BoundedQueue(capacity: settings.maxInFlight)
        workers = (0..<max(1, settings.maxInFlight)).map { index in
            NamedThread(name: "http\(index)-\(sinkName)") { [self] in
                var compressor = settings.gzipLevel.map { GzipMemberCompressor(level: $0) }
                var scratch = ByteWriter(capacity: 1 << 20)
                while let batch = queue.take() { deliver(batch, compressor: &compressor, scratch: &scratch) }
            }
        }
    }

    /// Hands a batch to a worker, waiting while all of them are busy.
    func submit(_ batch: RequestBatch) {
        queue.put(batch)
    }

    /// Lets the workers settle every batch (or give up at shutdown), then stops them.
    func close() {
        queue.close()
        for worker in workers { worker.join() }
    }

    private func deliver(_ batch: RequestBatch, compressor: inout GzipMemberCompressor?, scratch: inout ByteWriter) {
        var machine = DeliveryStateMachine(itemCount: batch.count, settings: settings.retry)
        var troubled = false
        loop: while true {
            switch machine.next() {
            case .send where report.keepsWhatTheStopLeaves && report.shutdown.isStopping:
                // Behind a disk buffer, what the stop leaves is delivered after the next start.
                batch.tickets(of: machine.unsettled).dropped(.shutdown, to: report)
                break loop
            case .send(let items):
                do {
                    let response = try format.withBody(of: items, in: batch) { body in
                        try client.post(path: format.path, contentType: format.contentType, body: body, compressor: &compressor, scratch: &scratch)
                    }
                    let outcome = format.interpret(status: response.status, body: response.body, itemCount: items.count)
                    machine.handle(outcome, retryAfterNanoseconds: response.retryAfterNanoseconds)
                } catch {
                    machine.handle(.retryable(TransportErrorDescription.describe(error)))
                }
            case .wait(let nanoseconds, let reason):
                troubled = true
                report.setProblem("\(sinkName): \(reason)")
                report.counters.retries.add(1)
                if machine.attempts == 1 || machine.attempts.isMultiple(of: 10) {
                    logger.warning("delivery failed; retrying", metadata: [
                        "sink": "\(sinkName)", "endpoint": "\(settings.endpoint)", "reason": "\(reason)",
                        "attempt": "\(machine.attempts)", "retry_in_ms": "\(nanoseconds / 1_000_000)",
                    ])
                }
                // ±50% jitter keeps senders from retrying in step; a server's Retry-After is
                // waited in full, plus up to a tenth.
                let jittered = machine.waitIsTheServers
                    ? nanoseconds + UInt64.random(in: 0...(nanoseconds / 10))
                    : nanoseconds / 2 + UInt64.random(in: 0...nanoseconds)
                guard report.shutdown.sleep(nanoseconds: jittered) else {
                    let lost = machine.unsettled
                    batch.tickets(of: lost).dropped(.shutdown, to: report)
                    let kept = report.keepsWhatTheStopLeaves
                    logger.error(kept ? "stopped while delivery was failing; events left in the buffer" : "shutdown while delivery was failing; events dropped", metadata: [
                        "sink": "\(sinkName)", "events": "\(lost.count)",
                    ])
                    break loop
                }
            case .finished:
                break loop
            }
        }
        settle(machine, batch: batch, recovered: troubled)
    }

    private func settle(_ machine: DeliveryStateMachine, batch: RequestBatch, recovered: Bool) {
        // Settled per ticket: the accepted items of one ticket are mostly side by side.
        var run: (ticket: DeliveryTicket, events: Int, bytes: Int)?
        for item in machine.accepted {
            let ticket = batch.items[item].ticket
            if let current = run, current.ticket != ticket {
                report.delivered(current.ticket, events: current.events, bytes: current.bytes)
                run = nil
            }
            run = (ticket, (run?.events ?? 0) + 1, (run?.bytes ?? 0) + batch.event(item).count)
        }
        if let run { report.delivered(run.ticket, events: run.events, bytes: run.bytes) }
        batch.tickets(of: machine.alreadyPresent).dropped(.alreadyPresent, to: report)
        if !machine.rejectedUnnamed.isEmpty {
            batch.tickets(of: machine.rejectedUnnamed).dropped(.rejected, to: report)
            logger.warning("the server rejected part of a request without naming the events", metadata: [
                "sink": "\(sinkName)", "events": "\(machine.rejectedUnnamed.count)", "reason": "\(machine.partialRejectionReason)",
            ])
        }
        if recovered && machine.unsettled.isEmpty { report.setProblem(nil) }
        guard !machine.deadLetters.isEmpty else { return }
        let entries = machine.deadLetters.map { (status: $0.status, reason: $0.reason, event: batch.event($0.item)) }
        let written = deadLetters?.write(entries) ?? false
        batch.tickets(of: machine.deadLetters.map(\.item)).dropped(written ? .deadLettered : .rejected, to: report)
        logger.warning("events rejected by the server", metadata: [
            "sink": "\(sinkName)", "events": "\(entries.count)", "first_reason": "\(entries[0].reason)",
            "dead_letter": "\(written ? settings.deadLetterPath ?? "" : "none")",
        ])
    }
}
