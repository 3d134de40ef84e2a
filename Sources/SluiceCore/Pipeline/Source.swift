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

    /// What the source counts beyond the counters every source has (files watched, say).
    func metricSamples() -> [MetricSample]

    /// Whether the source runs a program that the signals Sluice receives are passed on to
    /// (`exec`): the supervisor asks, rather than knowing source types.
    var forwardsSignals: Bool { get }

    /// Passes a signal Sluice received on to the program the source runs.
    func forward(_ signal: Int32)
}

extension Source {
    public func metricSamples() -> [MetricSample] { [] }
    public var forwardsSignals: Bool { false }
    public func forward(_ signal: Int32) {}
}

/// Where a published batch went: its ring and its sequence there.
public struct RingPosition: Sendable {
    let ring: EventRing<EventBatch>?
    let sequence: Int
}

/// A source's batch made ready for the ring: numbered, and followed by what the transforms
/// made of it (only what some sink takes).
public struct PreparedBatch: Sendable {
    let batches: [EventBatch]
    /// The transforms that made them (see `PublishRoute.publish(_:preparedBy:)`).
    let stage: (any BatchTransforms)?
    /// The events of the source's batch, before transforms: what the source's accounting
    /// counts as published or not.
    let sourceEvents: Int
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
        publishTracked(batch) != nil
    }

    /// Publishes a filled batch like `publish(_:)` and says where it went, for a source that
    /// must know when its events are taken (`isTaken(_:)`); nil when the ring is closed.
    public func publishTracked(_ batch: EventBatch) -> RingPosition? {
        publishTracked(prepare(batch))
    }

    /// The identities of the source's next `count` events, for a batch numbered before it is
    /// published (see `prepare(_:)`).
    public func reserveOrigin(count: Int) -> EventOrigin {
        EventOrigin(stream: stream, firstSequence: counters.reserveSequences(count))
    }

    /// Numbers `batch` (unless it has its origin) and runs the transforms over it: the work of
    /// publishing that needs no ring, so a source may do it on another thread, in parallel
    /// with the next batch, when `transformHints()` allows.
    public func prepare(_ batch: EventBatch) -> PreparedBatch {
        guard !batch.isEmpty else { return PreparedBatch(batches: [], stage: nil, sourceEvents: 0) }
        batch.assignOrigin(stream: stream, counters: counters)
        let taps = route.taps
        if taps.isTapped { taps.offer(batch, component: counters.name, point: .output) }
        guard let transforms = route.transforms else { return PreparedBatch(batches: [batch], stage: nil, sourceEvents: batch.count) }
        let outputs = transforms.outputs(of: batch, source: sourceIndex)
        if taps.isTapped {
            for output in outputs {
                if let name = transforms.transformName(ofInput: output.sourceIndex) { taps.offer(output, component: name, point: .output) }
            }
        }
        return PreparedBatch(batches: outputs, stage: transforms, sourceEvents: batch.count)
    }

    /// What the transforms running now let the source's encoders do: prepare two batches at
    /// once, write events already reshaped.
    public func transformHints() -> TransformHints {
        route.transforms?.hints(source: sourceIndex) ?? TransformHints()
    }

    /// Publishes what `prepare(_:)` made, in order, and says where the last batch went; nil
    /// when the ring is closed. Either way the source's events are accounted for: `published`,
    /// or `unpublished` (the pipeline stopped before they could go in).
    public func publishTracked(_ prepared: PreparedBatch) -> RingPosition? {
        var last = RingPosition(ring: nil, sequence: 0)
        for batch in prepared.batches {
            guard let position = route.publish(batch, preparedBy: prepared.stage) else {
                counters.unpublished.add(prepared.sourceEvents)
                return nil
            }
            if position.ring != nil { last = position }
        }
        counters.published.add(prepared.sourceEvents)
        return last
    }

    /// A prepared batch that will not be published because the pipeline closed before its turn
    /// (one counted in and encoded after a batch that failed to go in).
    public func countUnpublished(_ prepared: PreparedBatch) {
        counters.unpublished.add(prepared.sourceEvents)
    }

    /// Whether every sink that holds the sources back has finished reading the batch at
    /// `position`: a disk-buffered sink has it in its buffer, any other has handled it. (A
    /// `drop_oldest` sink is not waited for: it may skip events by design.) A source that reads
    /// from files records how far it read only up to batches that are taken, so a restart after
    /// a crash reads again what was still in memory.
    public func isTaken(_ position: RingPosition) -> Bool {
        guard let ring = position.ring else { return true }
        return ring.consumers.allSatisfy { !$0.gatesProducers || $0.committedSequences > position.sequence }
    }
}
