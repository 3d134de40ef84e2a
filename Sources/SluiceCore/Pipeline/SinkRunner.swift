import SluiceRing
import SluiceSync
import Logging
import Synchronization

/// Where a sink's batches come from: its rings (`RingChain`), or (for `drop_newest`) a
/// hand-off that the ring reader fills.
protocol BatchFeed {
    func next(deadlineNanoseconds: UInt64?) -> FeedItem
    func done(with item: FedBatch)
}

struct FedBatch {
    let batch: EventBatch
    let sequence: Int
    let endOfRun: Bool
    /// The chain's ring it came from, and this sink's cursor there.
    let segment: RingChain.Segment
}

enum FeedItem {
    case batch(FedBatch)
    case timedOut
    case finished
}

/// Runs one sink on its own thread: takes its batches in order, applies its `inputs` and
/// `where`, hands them to the sink, flushes on schedule, retries or drops failures by policy,
/// and counts every event delivered or dropped.
///
/// A runner that replaces one of the same name at a reload (`predecessor`) starts once that one
/// has read its rings to their end (its backlog is its own to finish), or, for a sink that
/// inherits state (alerts), once it has finished; until then its ring fills, and under `block`
/// holds the sources back like any slow sink.
public final class SinkRunner: @unchecked Sendable {
    // @unchecked: the sink itself is only ever called from this runner's thread(s), one at a
    // time; everything shared with other threads is the rings, the counters, the signal, and
    // the progress flags under `progress`.
    public struct Configuration: Sendable {
        public var name: String
        /// Source indices this sink takes; nil for all.
        public var inputs: Set<Int>?
        public var whenFull: WhenFull
        /// `where`: only events that satisfy it reach the sink.
        public var filter: Expression?
        /// Longest pause between retries of a failing write.
        public var maxRetryBackoffNanoseconds: UInt64 = 5_000_000_000
        /// `shutdown.grace_period`, for a sink's own processes at the end.
        public var gracePeriodNanoseconds: UInt64 = 10_000_000_000

        public init(name: String, inputs: Set<Int>?, whenFull: WhenFull, filter: Expression? = nil) {
            self.name = name
            self.inputs = inputs
            self.whenFull = whenFull
            self.filter = filter
        }
    }

    public let configuration: Configuration
    public let counters: SinkCounters
    /// The sink this runner feeds (for its own metrics).
    public let sink: any Sink
    /// The disk buffer between this runner's ring reader and the sink, if it has one.
    public let buffer: (any DurableSinkBuffer)?
    let chain: RingChain
    let shutdown: ShutdownSignal
    /// What the sink's own retry loops watch: the pipeline's stop, and for a disk-buffered sink
    /// also its own, given when a reload's replacement takes the reading over.
    let sinkShutdown: ShutdownSignal
    let predecessor: SinkRunner?
    private let logger: Logger
    let reopenRequested = Atomic<Bool>(false)
    /// Where the sink acknowledges; made at `start`.
    private var report: DeliveryReport!
    /// The next batch's ticket (the delivering thread's).
    private var nextTicket: UInt64 = 0
    private let progress = ConditionLock()
    private var stoppedReading = false
    private var finished = false
    /// Threads of this runner still running (a disk-buffered runner has two that both matter).
    private var threadsRunning = 0
    /// A reload replaced this runner with one of the same name: what it appends to its disk
    /// buffer is not the last (the replacement appends after it).
    var isReplaced: Bool {
        get { progress.withLock { replaced } }
        set { progress.withLock { replaced = newValue } }
    }
    private var replaced = false
    /// Whether its ring reader holds the producers back when behind (see `SinkSpec`).
    var gatesProducers: Bool { buffer != nil || configuration.whenFull != .dropOldest }


    /// - Parameters:
    ///   - counters: continues counting on a previous runner's counters (a reload).
    ///   - predecessor: the runner of the same name this one replaces, which goes first.
    init(
        configuration: Configuration, sink: any Sink, chain: RingChain, shutdown: ShutdownSignal,
        counters: SinkCounters? = nil, predecessor: SinkRunner? = nil, buffer: (any DurableSinkBuffer)? = nil
    ) {
        self.configuration = configuration
        self.sink = sink
        self.buffer = buffer
        sinkShutdown = buffer == nil ? shutdown : ShutdownSignal(following: shutdown)
        self.chain = chain
        self.shutdown = shutdown
        self.predecessor = predecessor
        self.counters = counters ?? SinkCounters(name: configuration.name)
        var logger = Logger(label: "sluice.sink")
        logger[metadataKey: "sink"] = .string(configuration.name)
        self.logger = logger
    }

    /// Starts the runner's thread(s); `waitUntilFinished` waits for the sink to finish.
    func start() {
        report = DeliveryReport(
            counters: counters, shutdown: sinkShutdown, whenFull: configuration.whenFull,
            gracePeriodNanoseconds: configuration.gracePeriodNanoseconds, acknowledger: buffer
        )
        sink.attach(report)
        if let buffer {
            startBuffered(buffer)
            return
        }
        guard configuration.whenFull == .dropNewest else {
            NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
                takeOver()
                deliverAll(from: chain, selecting: true)
                markFinished()
            }
            return
        }
        let handOff = BatchHandOff(capacity: 4)
        NamedThread.detached(name: "ring-\(configuration.name)") { [self] in
            // The writer starts after the take-over, so nothing touches the sink during it.
            takeOver()
            NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
                deliverAll(from: handOff, selecting: false)
                markFinished()
            }
            keepPace(into: handOff)
        }
    }

    /// Asks the sink to reopen its files before its next batch (SIGHUP, for an unchanged sink).
    func requestReopen() {
        reopenRequested.store(true, ordering: .relaxed)
    }

    // MARK: Progress

    /// Waits until the runner has read its last ring to its end (or at most `seconds`).
    @discardableResult
    func waitUntilStoppedReading(seconds: Double? = nil) -> Bool {
        wait(seconds: seconds) { stoppedReading }
    }

    /// Waits until the sink has finished (or at most `seconds`); true when it has.
    @discardableResult
    public func waitUntilFinished(seconds: Double? = nil) -> Bool {
        wait(seconds: seconds) { finished }
    }

    public var isFinished: Bool { progress.withLock { finished } }

    private func wait(seconds: Double?, until done: () -> Bool) -> Bool {
        let deadline = seconds.map { MonotonicClock.nowNanoseconds() + UInt64($0 * 1e9) }
        return progress.withLock {
            while !done() {
                guard progress.wait(deadlineNanoseconds: deadline) else { return false }
            }
            return true
        }
    }

    func markStoppedReading() {
        progress.withLock {
            stoppedReading = true
            progress.broadcast()
        }
    }

    /// Counts the runner's threads in (`count`), and one out (nil) when it ends: the runner is
    /// finished when the last has ended.
    func threadsRunning(_ count: Int?) {
        progress.withLock {
            if let count {
                threadsRunning = count
                return
            }
            threadsRunning -= 1
            guard threadsRunning == 0 else { return }
            stoppedReading = true
            finished = true
            progress.broadcast()
        }
    }

    private func markFinished() {
        progress.withLock {
            stoppedReading = true
            finished = true
            progress.broadcast()
        }
    }

    /// A replacing runner waits for the one it replaces, and inherits its state if it can.
    func takeOver() {
        guard let predecessor else { return }
        guard sink.inheritsState else {
            predecessor.waitUntilStoppedReading()
            return
        }
        predecessor.waitUntilFinished()
        sink.inherit(from: predecessor.sink)
    }

    // MARK: Reading and delivering

    /// `drop_newest`: reads the ring at full speed, handing batches to the sink's thread when
    /// it has room and counting them as dropped when it does not.
    private func keepPace(into handOff: BatchHandOff) {
        let matcher = configuration.filter.map { EventMatcher([$0]) }
        while true {
            switch chain.next(deadlineNanoseconds: nil) {
            case .batch(let item):
                if let selected = selection(of: item.batch, matcher: matcher) {
                    let offered = FedBatch(batch: selected, sequence: item.sequence, endOfRun: item.endOfRun, segment: item.segment)
                    if !handOff.offer(offered) { counters.dropped(.sinkBusy).add(selected.count) }
                    counters.accepted.add(selected.count)
                }
                chain.done(with: item)
                countOverrun()
            case .timedOut:
                continue
            case .finished:
                markStoppedReading()
                handOff.close()
                return
            }
        }
    }

    /// - Parameter selecting: whether this thread reads the rings (and so applies `inputs` and
    ///   `where`); the writer of a `drop_newest` sink takes batches already selected.
    private func deliverAll(from feed: some BatchFeed, selecting: Bool) {
        let interval = sink.flushIntervalNanoseconds
        var nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
        let matcher = configuration.filter.map { EventMatcher([$0]) }
        while true {
            let item = feed.next(deadlineNanoseconds: nextFlush)
            if reopenRequested.exchange(false, ordering: .relaxed) {
                attempt("reopen") { try sink.reopenFiles() }
            }
            switch item {
            case .batch(let item):
                let selected = selecting ? selection(of: item.batch, matcher: matcher) : item.batch
                if let selected {
                    deliver(selected, endOfRun: item.endOfRun)
                } else if item.endOfRun {
                    attempt("flush") { try sink.flush() }
                }
                feed.done(with: item)
                if selecting {
                    counters.accepted.add(selected?.count ?? 0)
                    countOverrun()
                }
                if let deadline = nextFlush, let interval, MonotonicClock.nowNanoseconds() >= deadline {
                    attempt("flush") { try sink.flush() }
                    nextFlush = MonotonicClock.nowNanoseconds() + interval
                }
            case .timedOut:
                attempt("flush") { try sink.flush() }
                nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
            case .finished:
                if selecting {
                    countOverrun()
                    markStoppedReading()
                }
                attempt("finish") { try sink.finish() }
                return
            }
        }
    }

    /// What of a batch is for this sink: nil when it is from another input or no event passes
    /// `where`; the batch itself when every event does, else a copy of those that do.
    func selection(of batch: EventBatch, matcher: EventMatcher?) -> EventBatch? {
        guard accepts(batch) else { return nil }
        guard let matcher else { return batch }
        var kept: [Int] = []
        for position in 0..<batch.count {
            matcher.load(batch[position])
            if matcher.matches(0) { kept.append(position) }
        }
        return kept.isEmpty ? nil : kept.count == batch.count ? batch : batch.keeping(kept)
    }

    private func accepts(_ batch: EventBatch) -> Bool {
        configuration.inputs?.contains(batch.sourceIndex) ?? true
    }

    /// Events this sink was still to take from its rings: for counting what a sink that did
    /// not finish never delivered (read by another thread while this one is stuck). Its
    /// cursors are abandoned: whatever this sink's thread does later commits nothing.
    func eventsStillInRings() -> Int {
        let matcher = configuration.filter.map { EventMatcher([$0]) }
        return chain.remainingSegments.reduce(0) { total, segment in
            total + segment.ring.abandon(segment.consumer).reduce(0) { $0 + (selection(of: $1, matcher: matcher)?.count ?? 0) }
        }
    }

    /// `drop_oldest`: what the ring being read overran this sink by, counted once (reading
    /// thread only).
    private func countOverrun() {
        guard configuration.whenFull == .dropOldest else { return }
        let consumer = chain.currentConsumer
        if overrun.consumer !== consumer { overrun = (consumer, 0) }
        let lost = consumer.droppedEvents - overrun.counted
        guard lost > 0 else { return }
        counters.dropped(.ringOverrun).add(lost)
        overrun.counted += lost
    }

    /// The consumer whose overrun was counted last, and how much of it.
    private var overrun: (consumer: RingConsumer?, counted: Int) = (nil, 0)

    /// Writes a batch; under `block` a failing write is retried with backoff until it succeeds
    /// or shutdown stops waiting, so nothing is lost while the sink recovers.
    func deliver(_ batch: EventBatch, endOfRun: Bool, ticket given: DeliveryTicket? = nil) {
        let ticket = given ?? DeliveryTicket(nextTicket)
        if given == nil { nextTicket += 1 }
        report.issue(ticket, events: batch.count)
        var backoff: UInt64 = 100_000_000
        var failures = 0
        while true {
            do {
                try sink.write(batch, ticket: ticket, endOfRun: endOfRun)
                if !sink.reportsItsOwnDeliveries { report.delivered(ticket, events: batch.count, bytes: batch.bytes.count) }
                if failures > 0 {
                    logger.info("sink recovered", metadata: ["failed_attempts": "\(failures)"])
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
                failures += 1
                counters.setProblem("\(error)")
                guard configuration.whenFull == .block else {
                    report.dropped(ticket, .sinkError, events: batch.count)
                    if failures == 1 { logger.warning("write failed; events dropped", metadata: ["error": "\(error)", "events": "\(batch.count)"]) }
                    return
                }
                if failures == 1 || failures.isMultiple(of: 10) {
                    logger.warning("write failed; holding the sources back and retrying", metadata: [
                        "error": "\(error)", "attempt": "\(failures)", "retry_in_ms": "\(backoff / 1_000_000)",
                    ])
                }
                counters.retries.add(1)
                guard sinkShutdown.sleep(nanoseconds: backoff) else {
                    report.dropped(ticket, .shutdown, events: batch.count)
                    let kept = report.keepsWhatTheStopLeaves
                    logger.error(kept ? "stopped while the sink was failing; events left in the buffer" : "shutdown while the sink was failing; events dropped", metadata: [
                        "events": "\(batch.count)",
                    ])
                    return
                }
                backoff = min(backoff * 2, configuration.maxRetryBackoffNanoseconds)
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
