import SluiceRing
import SluiceSync
import Logging
import Synchronization

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
    /// The sink this runner feeds, by its contract.
    let running: RunningSink
    /// The sink this runner feeds (for its own metrics).
    public var sink: any SinkLifecycle { running.lifecycle }
    /// The disk buffer between this runner's ring reader and the sink, if it has one.
    public let buffer: (any DurableSinkBuffer)?
    /// Where `sluice tap` sees what this sink takes (`SelectingRingFeed`).
    let taps: TapHub
    let chain: RingChain
    let shutdown: ShutdownSignal
    /// What the sink's own retry loops watch: the pipeline's stop, and for a disk-buffered sink
    /// also its own, given when a reload's replacement takes the reading over.
    let sinkShutdown: ShutdownSignal
    let predecessor: SinkRunner?
    let logger: Logger
    let reopenRequested = Atomic<Bool>(false)
    /// Where the sink's events are settled; an acknowledging sink is made with it.
    let report: DeliveryReport
    /// The next batch's ticket (the delivering thread's).
    var nextTicket: UInt64 = 0
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
        configuration: Configuration, sink: SinkMaker, chain: RingChain, shutdown: ShutdownSignal,
        counters: SinkCounters? = nil, predecessor: SinkRunner? = nil, buffer: (any DurableSinkBuffer)? = nil, taps: TapHub = TapHub()
    ) {
        self.taps = taps
        self.configuration = configuration
        self.buffer = buffer
        let sinkShutdown = buffer == nil ? shutdown : ShutdownSignal(following: shutdown)
        self.sinkShutdown = sinkShutdown
        self.chain = chain
        self.shutdown = shutdown
        self.predecessor = predecessor
        let counters = counters ?? SinkCounters(name: configuration.name)
        self.counters = counters
        report = DeliveryReport(
            counters: counters, shutdown: sinkShutdown, whenFull: configuration.whenFull,
            gracePeriodNanoseconds: configuration.gracePeriodNanoseconds, acknowledger: buffer
        )
        running = RunningSink(sink, report: report)
        var logger = Logger(label: "sluice.sink")
        logger[metadataKey: "sink"] = .string(configuration.name)
        self.logger = logger
    }

    /// Starts the runner's thread(s); `waitUntilFinished` waits for the sink to finish.
    func start() {
        if let buffer {
            startBuffered(buffer)
            return
        }
        guard configuration.whenFull == .dropNewest else {
            NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
                takeOver()
                var feed = SelectingRingFeed(runner: self)
                drive(&feed)
                attempt("finish") { try sink.finish() }
                markFinished()
            }
            return
        }
        let handOff = BatchHandOff(capacity: 4)
        NamedThread.detached(name: "ring-\(configuration.name)") { [self] in
            // The writer starts after the take-over, so nothing touches the sink during it.
            takeOver()
            NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
                var feed = BatchHandOff.Feed(handOff: handOff)
                drive(&feed)
                attempt("finish") { try sink.finish() }
                markFinished()
            }
            readRing(into: KeepingPace(handOff: handOff, counters: counters))
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

    func markFinished() {
        progress.withLock {
            stoppedReading = true
            finished = true
            progress.broadcast()
        }
    }

    /// A replacing runner waits for the one it replaces (to have read its rings, or finished,
    /// as the sink asks); then the sink begins.
    func takeOver() {
        if let predecessor {
            if sink.startsAfterItsPredecessorFinishes {
                predecessor.waitUntilFinished()
            } else {
                predecessor.waitUntilStoppedReading()
            }
        }
        sink.begin(replacing: predecessor != nil)
    }

    /// Events this sink was still to take from its rings: for counting what a sink that did
    /// not finish never delivered (read by another thread while this one is stuck). Its
    /// cursors are abandoned: whatever this sink's thread does later commits nothing.
    func eventsStillInRings() -> Int {
        let selection = SinkSelection(configuration)
        return chain.remainingSegments.reduce(0) { total, segment in
            total + segment.ring.abandon(segment.consumer).reduce(0) { $0 + (selection.select($1)?.count ?? 0) }
        }
    }
}
