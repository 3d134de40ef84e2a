import Synchronization
import Logging
import SluiceSync

/// The one delivery loop: whatever the feed (rings through the selection, a `drop_newest`
/// hand-off, a disk buffer), batches go to the sink in order under their tickets, a run's end
/// and the flush interval flush it, a SIGHUP reopens its files, and a failing write is retried
/// or dropped as `WriteRetryPolicy` says.
extension SinkRunner {
    func drive(_ feed: inout some DeliveryFeed) {
        let interval = sink.flushIntervalNanoseconds
        var nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
        /// Flushes when the interval is up, and schedules the next.
        func flushIfDue() {
            guard let deadline = nextFlush, let interval, MonotonicClock.nowNanoseconds() >= deadline else { return }
            attempt("flush") { try sink.flush() }
            nextFlush = MonotonicClock.nowNanoseconds() + interval
        }
        while true {
            let item = feed.next(deadlineNanoseconds: nextFlush)
            if reopenRequested.exchange(false, ordering: .relaxed) {
                attempt("reopen") { try sink.reopenFiles() }
            }
            switch item {
            case .batch(let fed):
                deliver(fed.batch, endOfRun: fed.endOfRun, ticket: fed.ticket)
                feed.done(with: fed)
                flushIfDue()
            case .runEnded:
                attempt("flush") { try sink.flush() }
            case .idle:
                flushIfDue()
            case .finished:
                return
            }
        }
    }

    /// Writes a batch; under `block` a failing write is retried with backoff until it succeeds
    /// or the stop ends the waiting, so nothing is lost while the sink recovers.
    func deliver(_ batch: EventBatch, endOfRun: Bool, ticket given: DeliveryTicket? = nil) {
        let ticket = given ?? DeliveryTicket(nextTicket, readAtMilliseconds: batch.readAtMilliseconds)
        if given == nil { nextTicket += 1 }
        report.issue(ticket, events: batch.count)
        var policy = WriteRetryPolicy(whenFull: configuration.whenFull, maxBackoffNanoseconds: configuration.maxRetryBackoffNanoseconds)
        while true {
            do {
                switch running {
                case .delivering(let sink):
                    try sink.write(batch, endOfRun: endOfRun)
                    report.delivered(ticket, events: batch.count, bytes: batch.bytes.count)
                case .acknowledging(let sink):
                    try sink.write(batch, ticket: ticket, endOfRun: endOfRun)
                }
                if policy.recovered {
                    logger.info("sink recovered", metadata: ["failed_attempts": "\(policy.failures)"])
                    counters.setProblem(nil)
                }
                return
            } catch let error as SinkError where error.isPermanent {
                let delivered = error.deliveredPrefix
                if delivered.events > 0 { report.delivered(ticket, events: delivered.events, bytes: delivered.bytes) }
                report.dropped(ticket, error.dropReason, events: batch.count - delivered.events)
                if counters.dropped(error.dropReason).current == batch.count - delivered.events {
                    logger.error("sink cannot deliver; dropping and counting its events from now on", metadata: ["error": "\(error)"])
                }
                return
            } catch {
                counters.setProblem("\(error)")
                switch policy.failed() {
                case .drop(let log):
                    report.dropped(ticket, .sinkError, events: batch.count)
                    if log { logger.warning("write failed; events dropped", metadata: ["error": "\(error)", "events": "\(batch.count)"]) }
                    return
                case .retry(let wait, let attempt, let log):
                    if log {
                        logger.warning("write failed; holding the sources back and retrying", metadata: [
                            "error": "\(error)", "attempt": "\(attempt)", "retry_in_ms": "\(wait / 1_000_000)",
                        ])
                    }
                    counters.retries.add(1)
                    guard sinkShutdown.sleep(nanoseconds: wait) else {
                        report.dropped(ticket, .shutdown, events: batch.count)
                        let kept = report.keepsWhatTheStopLeaves
                        logger.error(kept ? "stopped while the sink was failing; events left in the buffer" : "shutdown while the sink was failing; events dropped", metadata: [
                            "events": "\(batch.count)",
                        ])
                        return
                    }
                }
            }
        }
    }

    func attempt(_ action: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("\(action) failed", metadata: ["error": "\(error)"])
        }
    }
}
