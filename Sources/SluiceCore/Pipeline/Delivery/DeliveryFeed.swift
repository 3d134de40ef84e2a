/// Where a sink's batches come from, for the one delivery loop (`SinkRunner.drive`): its rings
/// read through its selection (`SelectingRingFeed`), the hand-off a `drop_newest` sink's ring
/// reader fills (`BatchHandOff`), or its disk buffer (`DiskBufferFeed`).
protocol DeliveryFeed {
    /// The next item, waiting at most until the monotonic deadline.
    mutating func next(deadlineNanoseconds: UInt64?) -> DeliveryFeedItem
    /// The sink has had the batch: release what it came from.
    mutating func done(with fed: FeedBatch)
}

/// A batch for the sink, and what it came with.
struct FeedBatch {
    let batch: EventBatch
    /// No further batch is ready now: the sink may flush.
    let endOfRun: Bool
    /// The disk buffer's ticket for it; nil for the runner to number it.
    let ticket: DeliveryTicket?
    /// The ring item it was selected from, to commit when the sink has had it.
    let ringItem: RingItem?
}

enum DeliveryFeedItem {
    case batch(FeedBatch)
    /// A run of ready batches ended with nothing for this sink: time to flush.
    case runEnded
    /// The deadline passed (or the feed woke to look at the stop) with nothing to deliver.
    case idle
    case finished
}

/// What of the events a sink reads is for it: its `inputs` and `where`. Each reading thread
/// makes its own (the matcher keeps per-event state).
struct SinkSelection {
    let inputs: Set<Int>?
    let matcher: EventMatcher?

    init(_ configuration: SinkRunner.Configuration) {
        inputs = configuration.inputs
        matcher = configuration.filter.map { EventMatcher([$0]) }
    }

    /// Nil when the batch is from another input or no event passes `where`; the batch itself
    /// when every event does, else a copy of those that do.
    func select(_ batch: EventBatch) -> EventBatch? {
        guard inputs?.contains(batch.sourceIndex) ?? true else { return nil }
        guard let matcher else { return batch }
        var kept: [Int] = []
        for position in 0..<batch.count {
            matcher.load(batch[position])
            if matcher.matches(0) { kept.append(position) }
        }
        return kept.isEmpty ? nil : kept.count == batch.count ? batch : batch.keeping(kept)
    }
}
