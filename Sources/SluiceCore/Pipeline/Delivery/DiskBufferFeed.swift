import SluiceSync

/// A disk-buffered sink's records, in order, each under its own ticket, until the buffer is
/// drained, another reader takes it over (a reload), or the sink's stop comes. Wakes at least
/// once a second to see the stop.
struct DiskBufferFeed: DeliveryFeed {
    private let buffer: any DurableSinkBuffer
    private let reader: Int
    private let stop: ShutdownSignal

    /// Makes the calling thread the buffer's reader.
    init(buffer: any DurableSinkBuffer, stop: ShutdownSignal) {
        self.buffer = buffer
        self.stop = stop
        reader = buffer.takeReading()
    }

    func next(deadlineNanoseconds: UInt64?) -> DeliveryFeedItem {
        guard !stop.isStopping else { return .finished }
        let wake = min(deadlineNanoseconds ?? .max, MonotonicClock.nowNanoseconds() + 1_000_000_000)
        switch buffer.next(reader: reader, deadlineNanoseconds: wake) {
        case .record(let batch, let ticket, let endOfRun): return .batch(FeedBatch(batch: batch, endOfRun: endOfRun, ticket: ticket, ringItem: nil))
        case .timedOut: return .idle
        case .drained, .handedOver: return .finished
        }
    }

    /// The buffer lets the record go once its ticket is settled, not here.
    func done(with fed: FeedBatch) {}
}
