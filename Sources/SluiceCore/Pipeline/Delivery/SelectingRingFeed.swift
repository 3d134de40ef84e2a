import SluiceRing

/// A sink's rings, read through its selection: what is for the sink comes out as batches, the
/// rest is committed at once (a run that ends on it is `runEnded`). Counts what the sink takes
/// (`accepted`) and, under `drop_oldest`, what the ring overran it by; says when the last ring
/// is read to its end.
struct SelectingRingFeed: DeliveryFeed {
    private let chain: RingChain
    private let selection: SinkSelection
    private let counters: SinkCounters
    private let countsOverruns: Bool
    private let stoppedReading: () -> Void
    private let taps: TapHub
    private let name: String
    /// The consumer whose overrun was counted last, and how much of it.
    private var overrun: (consumer: RingConsumer?, counted: Int) = (nil, 0)

    init(runner: SinkRunner) {
        chain = runner.chain
        selection = SinkSelection(runner.configuration)
        counters = runner.counters
        countsOverruns = runner.configuration.whenFull == .dropOldest
        stoppedReading = { [unowned runner] in runner.markStoppedReading() }
        taps = runner.taps
        name = runner.configuration.name
    }

    mutating func next(deadlineNanoseconds: UInt64?) -> DeliveryFeedItem {
        while true {
            switch chain.next(deadlineNanoseconds: deadlineNanoseconds) {
            case .batch(let item):
                if let selected = selection.select(item.batch) {
                    if taps.isTapped { taps.offer(selected, component: name, point: .input) }
                    return .batch(FeedBatch(batch: selected, endOfRun: item.endOfRun, ticket: nil, ringItem: item))
                }
                chain.done(with: item)
                countOverrun()
                if item.endOfRun { return .runEnded }
            case .timedOut:
                return .idle
            case .finished:
                countOverrun()
                stoppedReading()
                return .finished
            }
        }
    }

    mutating func done(with fed: FeedBatch) {
        if let item = fed.ringItem { chain.done(with: item) }
        counters.accepted.add(fed.batch.count)
        countOverrun()
    }

    /// `drop_oldest`: what the ring being read overran this sink by, counted once.
    private mutating func countOverrun() {
        guard countsOverruns else { return }
        let consumer = chain.currentConsumer
        if overrun.consumer !== consumer { overrun = (consumer, 0) }
        let lost = consumer.droppedEvents - overrun.counted
        guard lost > 0 else { return }
        counters.dropped(.ringOverrun).add(lost)
        overrun.counted += lost
    }
}
