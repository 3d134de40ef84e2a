public import SluiceRing

/// A source of events: reads its input on its own thread and publishes batches to the ring.
///
/// `run` returns when the input ends (EOF of stdin, the wrapped app's pipes closing) or when
/// the context's shutdown signal says to stop. Once draining starts, a source stops accepting
/// new writers but keeps reading those already connected until they close.
public protocol Source: AnyObject, Sendable {
    /// The source's name from the configuration; events carry it as `source`.
    var name: String { get }

    /// Reads until the input ends or shutdown stops it.
    func run(_ context: SourceContext) throws
}

/// What a running source needs: where to publish, and when to stop.
public struct SourceContext: Sendable {
    public let sourceIndex: Int
    public let counters: SourceCounters
    public let shutdown: ShutdownSignal
    /// The source's stream in this run (see `EventOrigin`).
    public let stream: UInt64
    let route: PublishRoute

    public init(sourceIndex: Int, counters: SourceCounters, shutdown: ShutdownSignal, route: PublishRoute, stream: UInt64? = nil) {
        self.sourceIndex = sourceIndex
        self.counters = counters
        self.shutdown = shutdown
        self.route = route
        self.stream = stream ?? EventOrigin.stream(ofSource: sourceIndex)
    }

    /// A context publishing to one fixed ring (tests, and tools that run a source alone).
    public init(sourceIndex: Int, counters: SourceCounters, shutdown: ShutdownSignal, ring: EventRing<EventBatch>) {
        self.init(sourceIndex: sourceIndex, counters: counters, shutdown: shutdown, route: PublishRoute(ring))
    }

    /// Says the source is taking input (a socket listens, a pipe is open): `/readyz` waits for
    /// every source.
    public func markReady() {
        counters.markReady()
    }

    /// Publishes a filled batch, its events numbered next in the source's stream; false when
    /// the ring is closed (the pipeline is stopping).
    public func publish(_ batch: EventBatch) -> Bool {
        guard !batch.isEmpty else { return true }
        batch.assignOrigin(stream: stream, counters: counters)
        return route.publish(batch)
    }
}
