public import SluiceRing

/// The sink side of a pipeline: one ring, and a runner per sink reading it through its own
/// cursor. A reload replaces the whole stage while the sources keep running.
///
/// `@unchecked Sendable`: the drain flags change only under `drainState`.
public final class SinkStage: @unchecked Sendable {
    public let ring: EventRing<EventBatch>
    public let runners: [SinkRunner]
    /// Stops this stage's retries on its own; follows the pipeline's signal.
    let shutdown: ShutdownSignal
    private let threads = Locked<[NamedThread]>([])
    private let drainState = ConditionLock()
    private var drainWatched = false
    private var drained = false

    /// - Parameter counters: counters of sinks that ran before, by name: a sink that keeps its
    ///   name across a reload keeps counting where it was.
    init(sinks: [Pipeline.SinkSpec], ringCapacity: Int, following pipelineShutdown: ShutdownSignal, counters: [String: SinkCounters] = [:]) {
        let shutdown = ShutdownSignal(following: pipelineShutdown)
        let ring = EventRing<EventBatch>(capacity: ringCapacity, consumerGating: sinks.map { $0.configuration.whenFull != .dropOldest })
        runners = zip(sinks, ring.consumers).map { spec, consumer in
            SinkRunner(
                configuration: spec.configuration, sink: spec.sink, ring: ring, consumer: consumer, shutdown: shutdown,
                counters: counters[spec.configuration.name]
            )
        }
        self.ring = ring
        self.shutdown = shutdown
    }

    func start() {
        let started = runners.flatMap { $0.start() }
        threads.withLock { $0 = started }
    }

    /// Waits until every sink has written out what the (closed) ring holds and finished, or
    /// until the monotonic deadline: false when sinks are still running then. One watcher
    /// thread joins the sink threads, however often this is called.
    @discardableResult
    func waitUntilDrained(deadlineNanoseconds: UInt64? = nil) -> Bool {
        drainState.withLock {
            if !drainWatched {
                drainWatched = true
                let running = threads.withLock { $0 }
                NamedThread.detached(name: "stage-drain") { [self] in
                    for thread in running { thread.join() }
                    drainState.withLock {
                        drained = true
                        drainState.broadcast()
                    }
                }
            }
            while !drained {
                guard drainState.wait(deadlineNanoseconds: deadlineNanoseconds) else { return false }
            }
            return true
        }
    }
}
