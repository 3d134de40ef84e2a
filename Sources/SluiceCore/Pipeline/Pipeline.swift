public import SluiceRing
import Logging
import CLinux

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sources, the ring and sinks, wired and running: each source and each sink on its own thread.
///
/// ```
/// source ─┐                       ┌─ cursor ─ sink
/// source ─┼─ claim/publish ─ ring ┼─ cursor ─ sink
/// source ─┘   (batches)           └─ cursor ─ sink
/// ```
///
/// The stream ends when every source has returned: the ring closes, every sink drains what was
/// published and finishes, and `finishedDescriptor` becomes readable.
///
/// `@unchecked Sendable`: after `init` only atomics, thread-safe counters and the lock-guarded
/// error list change.
public final class Pipeline: @unchecked Sendable {
    public struct SinkSpec {
        public var configuration: SinkRunner.Configuration
        public var sink: any Sink

        public init(configuration: SinkRunner.Configuration, sink: any Sink) {
            self.configuration = configuration
            self.sink = sink
        }
    }

    public let shutdown = ShutdownSignal()
    public let sourceCounters: [SourceCounters]
    private let sources: [any Source]
    private let route: PublishRoute
    private let stage: Locked<SinkStage>
    /// Held while the sinks are replaced or the stream ends, so the two never interleave.
    private let stageChange = ConditionLock()
    private let sourceFailures = Locked<[String: String]>([:])
    private let endedSources = Locked<Set<Int>>([])
    private let finishedPipe: (read: Int32, write: Int32)
    private let sourceEndedPipe: (read: Int32, write: Int32)
    private let logger = Logger(label: "sluice.pipeline")

    /// - Parameter ringCapacity: slots in the ring; each slot holds one batch (one read).
    public init(sources: [any Source], sinks: [SinkSpec], ringCapacity: Int) {
        self.sources = sources
        sourceCounters = sources.map { SourceCounters(name: $0.name) }
        let first = SinkStage(sinks: sinks, ringCapacity: ringCapacity, following: shutdown)
        stage = Locked(first)
        route = PublishRoute(first.ring)
        finishedPipe = Self.makePipe()
        sourceEndedPipe = Self.makePipe()
    }

    /// The runners of the sinks running now.
    public var sinkRunners: [SinkRunner] { stage.withLock { $0.runners } }

    /// The ring the sources publish to now.
    public var ring: EventRing<EventBatch> { stage.withLock { $0.ring } }

    deinit {
        for descriptor in [finishedPipe.read, finishedPipe.write, sourceEndedPipe.read, sourceEndedPipe.write] {
            close(descriptor)
        }
    }

    private static func makePipe() -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        precondition(sluice_pipe_cloexec(&descriptors) == 0, "cannot create a pipe: errno \(errno)")
        return (descriptors[0], descriptors[1])
    }

    /// Readable once any source has ended; `endedSourceIndices` says which.
    public var sourceEndedDescriptor: Int32 { sourceEndedPipe.read }

    /// Indices of the sources whose `run` has returned.
    public var endedSourceIndices: Set<Int> { endedSources.withLock { $0 } }

    /// Readable once every sink has finished.
    public var finishedDescriptor: Int32 { finishedPipe.read }

    /// Sources whose `run` threw, with the error.
    public var failures: [String: String] { sourceFailures.withLock { $0 } }

    /// Starts every sink, then every source, then a thread that closes the ring when the
    /// sources are done and reports when the sinks have drained.
    public func start() {
        stage.withLock { $0 }.start()
        let sourceThreads = sources.enumerated().map { index, source in
            let context = SourceContext(sourceIndex: index, counters: sourceCounters[index], shutdown: shutdown, route: route)
            return NamedThread(name: "src-\(source.name)") { [self] in
                do {
                    try source.run(context)
                    logger.info("source finished", metadata: ["source": "\(source.name)", "events": "\(context.counters.events.current)"])
                } catch {
                    sourceFailures.withLock { $0[source.name] = "\(error)" }
                    logger.error("source stopped", metadata: ["source": "\(source.name)", "error": "\(error)"])
                }
                endedSources.withLock { _ = $0.insert(index) }
                var byte: UInt8 = 1
                _ = write(sourceEndedPipe.write, &byte, 1)
            }
        }
        NamedThread.detached(name: "drain") { [self] in
            for thread in sourceThreads { thread.join() }
            stageChange.withLock {
                route.end()
                stage.withLock { $0 }.waitUntilDrained()
            }
            var byte: UInt8 = 1
            _ = write(finishedPipe.write, &byte, 1)
        }
    }

    /// Replaces every sink without losing an event (a configuration reload): the ring closes,
    /// so the sources wait; the old sinks write out all it holds and finish; then the new sinks
    /// start on a new ring and the sources publish there. Old sinks still retrying after
    /// `drainTimeoutNanoseconds` are stopped, and what they could not deliver is counted as
    /// dropped (`shutdown`) or dead-lettered. Sinks that keep their name keep their counters.
    /// Returns false, changing nothing, when the stream has already ended.
    public func replaceSinks(with sinks: [SinkSpec], ringCapacity: Int, drainTimeoutNanoseconds: UInt64) -> Bool {
        stageChange.withLock {
            guard !route.hasEnded else { return false }
            let old = stage.withLock { $0 }
            let counters = Dictionary(old.runners.map { ($0.counters.name, $0.counters) }, uniquingKeysWith: { first, _ in first })
            let next = SinkStage(sinks: sinks, ringCapacity: ringCapacity, following: shutdown, counters: counters)
            old.ring.close()
            if !old.waitUntilDrained(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + drainTimeoutNanoseconds) {
                logger.warning("sinks still failing after the drain timeout; stopping their retries")
                old.shutdown.stopNow()
                old.waitUntilDrained()
            }
            for runner in next.runners {
                guard let heir = runner.sink as? any ReloadInheriting,
                      let previous = old.runners.first(where: { $0.counters.name == runner.counters.name }) else { continue }
                heir.inherit(from: previous.sink)
            }
            next.start()
            stage.withLock { $0 = next }
            route.install(next.ring)
            return true
        }
    }

    /// Blocks until every sink has finished, or at most `seconds`; true when finished.
    @discardableResult
    public func waitUntilFinished(seconds: Double? = nil) -> Bool {
        let deadline = seconds.map { MonotonicClock.nowNanoseconds() + UInt64($0 * 1e9) }
        var descriptor = pollfd(fd: finishedPipe.read, events: Int16(POLLIN), revents: 0)
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let now = MonotonicClock.nowNanoseconds()
                guard now < deadline else { return false }
                timeout = Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
            }
            if poll(&descriptor, 1, timeout) == 1 { return true }
        }
    }

    public var isFinished: Bool {
        var descriptor = pollfd(fd: finishedPipe.read, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1
    }
}
