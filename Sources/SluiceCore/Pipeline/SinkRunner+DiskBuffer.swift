import SluiceSync
import Synchronization

/// A sink with a disk buffer runs two threads:
///
/// - the ring reader applies `inputs` and `where` and appends what the sink takes to the buffer
///   (under the buffer's `when_full`), so a slow or absent destination never holds the sources
///   back while the buffer has room;
/// - the sink's thread reads the buffer in order and hands each record to the sink under the
///   record's ticket; the buffer lets a record go once its ticket is settled.
///
/// At a reload the replacement's ring reader appends after this one's, and its sink thread takes
/// the reading over at once and stops this one's sink: what this one had in hand and not yet
/// delivered (requests being retried, an open batch) goes back to the buffer, and the
/// replacement delivers it, so a reload that fixes an endpoint fixes it for everything waiting.
/// At the end of the stream (stdin's end, the wrapped program's exit, SIGTERM) the sink's thread
/// goes on delivering what the buffer holds until it is empty or the grace period is over (the
/// pipeline's stop); the rest waits on disk for the next start. A container whose `data_dir` is
/// an `emptyDir` has no next start, so the grace period is spent delivering, never skipped.
extension SinkRunner {
    func startBuffered(_ buffer: any DurableSinkBuffer) {
        threadsRunning(2)
        NamedThread.detached(name: "buf-\(configuration.name)") { [self] in
            predecessor?.waitUntilStoppedReading()
            appendAll(to: buffer)
            threadsRunning(nil)
        }
        NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
            deliverAll(from: buffer)
            attempt("finish") { try sink.finish() }
            threadsRunning(nil)
        }
    }

    /// The ring reader: everything the sink takes goes into the buffer.
    private func appendAll(to buffer: any DurableSinkBuffer) {
        let matcher = configuration.filter.map { EventMatcher([$0]) }
        while true {
            switch chain.next(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + buffer.syncIntervalNanoseconds) {
            case .batch(let item):
                if let selected = selection(of: item.batch, matcher: matcher) {
                    let outcome = buffer.append(selected, shutdown: shutdown) { reason, events in counters.dropped(reason).add(events) }
                    if outcome == .stopped { counters.dropped(.shutdown).add(selected.count) }
                    counters.accepted.add(selected.count)
                }
                chain.done(with: item)
                buffer.syncIfDue()
            case .timedOut:
                buffer.syncIfDue()
            case .finished:
                markStoppedReading()
                if !isReplaced { buffer.finishAppending() }
                return
            }
        }
    }

    /// The sink's thread: records from the buffer, in order, each under its own ticket.
    private func deliverAll(from buffer: any DurableSinkBuffer) {
        let reader = buffer.takeReading()
        // What the replaced version holds goes back to the buffer, for this one to deliver.
        predecessor?.sinkShutdown.stopNow()
        takeOver()
        let interval = sink.flushIntervalNanoseconds
        var nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
        while !sinkShutdown.isStopping {
            if reopenRequested.exchange(false, ordering: .relaxed) {
                attempt("reopen") { try sink.reopenFiles() }
            }
            // Wake at least once a second to see the stop.
            let wake = min(nextFlush ?? .max, MonotonicClock.nowNanoseconds() + 1_000_000_000)
            switch buffer.next(reader: reader, deadlineNanoseconds: wake) {
            case .record(let batch, let ticket, let endOfRun):
                deliver(batch, endOfRun: endOfRun, ticket: ticket)
                if let deadline = nextFlush, let interval, MonotonicClock.nowNanoseconds() >= deadline {
                    attempt("flush") { try sink.flush() }
                    nextFlush = MonotonicClock.nowNanoseconds() + interval
                }
            case .timedOut:
                if let deadline = nextFlush, let interval, MonotonicClock.nowNanoseconds() >= deadline {
                    attempt("flush") { try sink.flush() }
                    nextFlush = MonotonicClock.nowNanoseconds() + interval
                }
            case .drained, .handedOver:
                return
            }
        }
    }
}
