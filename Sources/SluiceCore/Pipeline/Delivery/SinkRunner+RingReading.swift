import SluiceSync

/// Where a ring reader that is not the sink's own thread puts what the sink takes: the
/// `drop_newest` hand-off, or the disk buffer.
protocol SelectedBatchDestination {
    /// How long to wait for a batch before `idle`; nil for as long as it takes.
    func wakeDeadline() -> UInt64?
    /// A batch for the sink.
    func take(_ batch: EventBatch)
    /// After each batch, and when the deadline passed without one.
    func idle()
    /// The last ring is read to its end.
    func finish()
}

extension SinkRunner {
    /// Reads the rings through the selection into `destination`, until the last ring ends.
    func readRing(into destination: some SelectedBatchDestination) {
        var feed = SelectingRingFeed(runner: self)
        while true {
            switch feed.next(deadlineNanoseconds: destination.wakeDeadline()) {
            case .batch(let fed):
                destination.take(fed.batch)
                feed.done(with: fed)
                destination.idle()
            case .runEnded, .idle:
                destination.idle()
            case .finished:
                destination.finish()
                return
            }
        }
    }
}

/// `drop_newest`: the ring is read at full speed; a batch goes to the sink's thread when it has
/// room and is counted as dropped (`sink_busy`) when it has not.
struct KeepingPace: SelectedBatchDestination {
    let handOff: BatchHandOff
    let counters: SinkCounters

    func wakeDeadline() -> UInt64? { nil }

    func take(_ batch: EventBatch) {
        if !handOff.offer(batch) { counters.dropped(.sinkBusy).add(batch.count) }
    }

    func idle() {}

    func finish() {
        handOff.close()
    }
}

/// A disk-buffered sink: what it takes is appended to its buffer (under the buffer's
/// `when_full`), synced as the buffer's `sync` says, also while idle.
struct AppendingToBuffer: SelectedBatchDestination {
    let buffer: any DurableSinkBuffer
    let shutdown: ShutdownSignal
    let counters: SinkCounters
    /// Whether this reader's appends are the last (a reload's replacement appends after it).
    let isLastWriter: () -> Bool

    func wakeDeadline() -> UInt64? {
        MonotonicClock.nowNanoseconds() + buffer.syncIntervalNanoseconds
    }

    func take(_ batch: EventBatch) {
        let outcome = buffer.append(batch, shutdown: shutdown) { reason, events in counters.dropped(reason).add(events) }
        if outcome == .stopped { counters.dropped(.shutdown).add(batch.count) }
    }

    func idle() {
        buffer.syncIfDue()
    }

    func finish() {
        if isLastWriter() { buffer.finishAppending() }
    }
}
