public import SluiceRing
import Logging

/// Where a sink's batches come from: the ring directly, or (for `drop_newest`) a hand-off
/// that the ring reader fills.
protocol BatchFeed {
    func next(deadlineNanoseconds: UInt64?) -> FeedItem
    func done(with item: FedBatch)
}

struct FedBatch {
    let batch: EventBatch
    let sequence: Int
    let endOfRun: Bool
}

enum FeedItem {
    case batch(FedBatch)
    case timedOut
    case finished
}

/// Runs one sink on its own thread: takes its batches in order, applies its `inputs`, hands
/// them to the sink, flushes on schedule, retries or drops failures by policy, and counts
/// every event delivered or dropped.
public final class SinkRunner: @unchecked Sendable {
    // @unchecked: the sink itself is only ever called from this runner's thread(s), one at a
    // time; everything shared with other threads is the ring, the counters and the signal.
    public struct Configuration: Sendable {
        public var name: String
        /// Source indices this sink takes; nil for all.
        public var inputs: Set<Int>?
        public var whenFull: WhenFull
        /// `where`: only events that satisfy it reach the sink.
        public var filter: Expression?
        /// Longest pause between retries of a failing write.
        public var maxRetryBackoffNanoseconds: UInt64 = 5_000_000_000

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
    private let ring: EventRing<EventBatch>
    private let consumer: RingConsumer
    private let shutdown: ShutdownSignal
    private let logger: Logger

    /// - Parameter counters: continues counting on a previous runner's counters (a reload).
    public init(
        configuration: Configuration, sink: any Sink, ring: EventRing<EventBatch>, consumer: RingConsumer, shutdown: ShutdownSignal,
        counters: SinkCounters? = nil
    ) {
        self.configuration = configuration
        self.sink = sink
        self.ring = ring
        self.consumer = consumer
        self.shutdown = shutdown
        self.counters = counters ?? SinkCounters(name: configuration.name)
        var logger = Logger(label: "sluice.sink")
        logger[metadataKey: "sink"] = .string(configuration.name)
        self.logger = logger
    }

    /// Starts the runner's thread(s); `join` on the returned threads waits for the drain.
    public func start() -> [NamedThread] {
        sink.attach(DeliveryReport(counters: counters, shutdown: shutdown, whenFull: configuration.whenFull))
        let ringFeed = RingFeed(ring: ring, consumer: consumer)
        guard configuration.whenFull == .dropNewest else {
            return [NamedThread(name: "sink-\(configuration.name)") { self.deliverAll(from: ringFeed) }]
        }
        let handOff = BatchHandOff(capacity: 4)
        let reader = NamedThread(name: "ring-\(configuration.name)") {
            self.keepPace(with: ringFeed, into: handOff)
        }
        let writer = NamedThread(name: "sink-\(configuration.name)") { self.deliverAll(from: handOff) }
        return [reader, writer]
    }

    /// `drop_newest`: reads the ring at full speed, handing batches to the sink's thread when
    /// it has room and counting them as dropped when it does not.
    private func keepPace(with feed: RingFeed, into handOff: BatchHandOff) {
        while true {
            switch feed.next(deadlineNanoseconds: nil) {
            case .batch(let item):
                if accepts(item.batch), !handOff.offer(item) {
                    counters.dropped(.sinkBusy).add(item.batch.count)
                }
                feed.done(with: item)
            case .timedOut:
                continue
            case .finished:
                handOff.close()
                return
            }
        }
    }

    private func deliverAll(from feed: some BatchFeed) {
        let interval = sink.flushIntervalNanoseconds
        var nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
        let filter = configuration.filter.map { EventMatcher([$0]) }
        while true {
            switch feed.next(deadlineNanoseconds: nextFlush) {
            case .batch(let item):
                let selected = accepts(item.batch) ? filter.map { Self.select(item.batch, $0) } ?? item.batch : nil
                if let selected, !selected.isEmpty {
                    deliver(selected, endOfRun: item.endOfRun)
                } else if item.endOfRun {
                    attempt("flush") { try sink.flush() }
                }
                feed.done(with: item)
                countOverrun()
                if let deadline = nextFlush, let interval, MonotonicClock.nowNanoseconds() >= deadline {
                    attempt("flush") { try sink.flush() }
                    nextFlush = MonotonicClock.nowNanoseconds() + interval
                }
            case .timedOut:
                attempt("flush") { try sink.flush() }
                nextFlush = interval.map { MonotonicClock.nowNanoseconds() + $0 }
            case .finished:
                countOverrun()
                attempt("finish") { try sink.finish() }
                return
            }
        }
    }

    /// The batch itself when every event passes `where`, else a copy of those that do.
    private static func select(_ batch: EventBatch, _ filter: EventMatcher) -> EventBatch {
        var kept: [Int] = []
        for position in 0..<batch.count {
            filter.load(batch[position])
            if filter.matches(0) { kept.append(position) }
        }
        return kept.count == batch.count ? batch : batch.keeping(kept)
    }

    private func accepts(_ batch: EventBatch) -> Bool {
        configuration.inputs?.contains(batch.sourceIndex) ?? true
    }

    private func countOverrun() {
        let lost = consumer.droppedEvents - counters.dropped(.ringOverrun).current
        counters.dropped(.ringOverrun).add(lost)
    }

    /// Writes a batch; under `block` a failing write is retried with backoff until it succeeds
    /// or shutdown stops waiting, so nothing is lost while the sink recovers.
    private func deliver(_ batch: EventBatch, endOfRun: Bool) {
        var backoff: UInt64 = 100_000_000
        var failures = 0
        while true {
            do {
                try sink.write(batch, endOfRun: endOfRun)
                if !sink.reportsItsOwnDeliveries {
                    counters.events.add(batch.count)
                    counters.bytes.add(batch.bytes.count)
                }
                if failures > 0 {
                    logger.info("sink recovered", metadata: ["failed_attempts": "\(failures)"])
                    counters.setProblem(nil)
                }
                return
            } catch let error as SinkError where error.isPermanent {
                counters.dropped(error.dropReason).add(batch.count)
                if counters.dropped(error.dropReason).current == batch.count {
                    logger.error("sink cannot deliver; dropping and counting its events from now on", metadata: ["error": "\(error)"])
                }
                return
            } catch {
                failures += 1
                counters.setProblem("\(error)")
                guard configuration.whenFull == .block else {
                    counters.dropped(.sinkError).add(batch.count)
                    if failures == 1 { logger.warning("write failed; events dropped", metadata: ["error": "\(error)", "events": "\(batch.count)"]) }
                    return
                }
                if failures == 1 || failures.isMultiple(of: 10) {
                    logger.warning("write failed; holding the sources back and retrying", metadata: [
                        "error": "\(error)", "attempt": "\(failures)", "retry_in_ms": "\(backoff / 1_000_000)",
                    ])
                }
                counters.retries.add(1)
                guard shutdown.sleep(nanoseconds: backoff) else {
                    counters.dropped(.shutdown).add(batch.count)
                    logger.error("shutdown while the sink was failing; events dropped", metadata: ["events": "\(batch.count)"])
                    return
                }
                backoff = min(backoff * 2, configuration.maxRetryBackoffNanoseconds)
            }
        }
    }

    private func attempt(_ action: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("\(action) failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Reads batches straight from the ring.
struct RingFeed: BatchFeed {
    let ring: EventRing<EventBatch>
    let consumer: RingConsumer

    func next(deadlineNanoseconds: UInt64?) -> FeedItem {
        switch ring.poll(consumer, deadlineNanoseconds: deadlineNanoseconds) {
        case .element(let batch, let sequence, let endOfRun):
            .batch(FedBatch(batch: batch, sequence: sequence, endOfRun: endOfRun))
        case .timedOut:
            .timedOut
        case .finished:
            .finished
        }
    }

    func done(with item: FedBatch) {
        ring.commit(consumer, sequence: item.sequence)
    }
}
