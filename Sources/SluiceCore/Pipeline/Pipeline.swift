import CLinux
import Logging
public import SluiceRing
import SluiceSync

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
/// A reload (`reload(_:ringCapacity:)`) never drops an event and never pauses a sink it keeps:
/// when anything changes, a new ring takes the sources' batches from then on, the kept sinks go
/// on to it once they have read the old one, a changed sink's new version starts once the old
/// version has read its backlog (or finished, for a sink that inherits state), and a removed
/// sink finishes its backlog on its own, holding nobody back.
///
/// `@unchecked Sendable`: after `init` only atomics, thread-safe counters and lock-guarded
/// state change.
public final class Pipeline: @unchecked Sendable {
    public struct SinkSpec {
        public var configuration: SinkRunner.Configuration
        public var sink: SinkMaker
        /// A disk buffer between the sink's ring reader and the sink; nil for the ring alone.
        public var buffer: (any DurableSinkBuffer)?

        public init(configuration: SinkRunner.Configuration, sink: SinkMaker, buffer: (any DurableSinkBuffer)? = nil) {
            self.configuration = configuration
            self.sink = sink
            self.buffer = buffer
        }

        /// A sink that has delivered a batch when its `write` returns.
        public init(configuration: SinkRunner.Configuration, sink: any Sink, buffer: (any DurableSinkBuffer)? = nil) {
            self.init(configuration: configuration, sink: .delivering(sink), buffer: buffer)
        }

        /// Whether the sink's ring reader holds the producers back when behind: always with a
        /// disk buffer (its reader only appends; `when_full` applies to the buffer).
        var gatesProducers: Bool { buffer != nil || configuration.whenFull != .dropOldest }
    }

    /// A sink of a reloaded configuration: the running sink of that name kept as it is, or a
    /// new one (a changed or an added sink).
    public enum ReloadedSink {
        case keep(name: String)
        case start(SinkSpec)
    }

    /// What a reload did.
    public struct ReloadOutcome: Sendable {
        public var kept: [String] = []
        public var started: [String] = []
        /// Removed or replaced sinks finishing what they hold.
        public var finishing: [String] = []
        /// Whether the sources publish to a new ring from now on.
        public var ringReplaced = false
    }

    /// The sinks' side: the ring the sources publish to, the runners reading it, the runners
    /// of removed or replaced sinks still finishing, and the counters of every sink that ran.
    private struct SinkSet {
        var ring: EventRing<EventBatch>
        var current: [SinkRunner]
        var retiring: [SinkRunner] = []
        var counters: [SinkCounters]
    }

    public let shutdown = ShutdownSignal()
    public let sourceCounters: [SourceCounters]
    let sources: [any Source]
    let route: PublishRoute
    private let sinkSet: Locked<SinkSet>
    /// Held while the sinks are reloaded or the stream ends, so the two never interleave.
    private let stageChange = ConditionLock()
    private let sourceFailures = Locked<[String: String]>([:])
    private let endedSources = Locked<Set<Int>>([])
    private let finishedPipe: (read: Int32, write: Int32)
    private let sourceEndedPipe: (read: Int32, write: Int32)
    private let logger = Logger(label: "sluice.pipeline")

    /// - Parameters:
    ///   - ringCapacity: slots in the ring; each slot holds one batch (one read).
    ///   - transforms: what the sources' batches pass on their way in; sinks then name sources
    ///     and transforms in their `inputs` (see `BatchTransforms`).
    public init(sources: [any Source], sinks: [SinkSpec], ringCapacity: Int, transforms: (any BatchTransforms)? = nil) {
        self.sources = sources
        sourceCounters = sources.map { SourceCounters(name: $0.name) }
        let ring = EventRing<EventBatch>(capacity: ringCapacity, consumerGating: sinks.map(\.gatesProducers))
        let shutdown = shutdown
        let taps = taps
        let runners = zip(sinks, ring.consumers).map { spec, consumer in
            SinkRunner(
                configuration: spec.configuration, sink: spec.sink, chain: RingChain(ring: ring, consumer: consumer), shutdown: shutdown,
                buffer: spec.buffer, taps: taps
            )
        }
        sinkSet = Locked(SinkSet(ring: ring, current: runners, counters: runners.map(\.counters)))
        route = PublishRoute(ring, transforms: transforms, taps: taps)
        finishedPipe = Self.makePipe()
        sourceEndedPipe = Self.makePipe()
    }

    /// Where `sluice tap` sees events: sources' and transforms' outputs, sinks' inputs.
    public let taps = TapHub()

    /// The runners of the sinks running now.
    public var sinkRunners: [SinkRunner] { sinkSet.withLock { $0.current } }

    /// Runners of removed or replaced sinks still finishing their backlog.
    public var finishingRunners: [SinkRunner] { sinkSet.withLock { $0.retiring.filter { !$0.isFinished } } }

    /// The counters of every sink that has run, in the order they first appeared (a sink that
    /// keeps its name across reloads keeps its counters).
    public var allSinkCounters: [SinkCounters] { sinkSet.withLock { $0.counters } }

    /// The ring the sources publish to now.
    public var ring: EventRing<EventBatch> { sinkSet.withLock { $0.ring } }

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
        for runner in sinkRunners { runner.start() }
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
            let runners = stageChange.withLock {
                let set = sinkSet.withLock { $0 }
                for runner in set.current { runner.chain.end() }
                route.end()
                return set.current + set.retiring
            }
            for runner in runners { runner.waitUntilFinished() }
            var byte: UInt8 = 1
            _ = write(finishedPipe.write, &byte, 1)
        }
    }

    /// Applies a reloaded configuration's sinks, in their new order, without losing an event
    /// (see the type's comment). Sinks that keep their name keep their counters. When nothing
    /// changed (every sink kept, the same ring size) nothing moves at all. Returns nil, changing
    /// nothing, when the stream has already ended.
    ///
    /// `transforms` replace the running ones (with the new ring, when there is one), so that a
    /// sink never reads an input numbered for other transforms.
    public func reload(_ sinks: [ReloadedSink], ringCapacity: Int, transforms: (any BatchTransforms)?) -> ReloadOutcome? {
        stageChange.withLock { () -> ReloadOutcome? in
            guard !route.hasEnded else { return nil }
            var set = sinkSet.withLock { $0 }
            let running = Dictionary(set.current.map { ($0.configuration.name, $0) }, uniquingKeysWith: { first, _ in first })
            var outcome = ReloadOutcome()
            let changes = sinks.contains { if case .start = $0 { true } else { false } }
            let sameSize = EventRing<EventBatch>.slots(forCapacity: ringCapacity) == set.ring.capacity
            guard changes || sinks.count != set.current.count || !sameSize else {
                route.install(transforms: transforms)
                outcome.kept = set.current.map(\.configuration.name)
                return outcome
            }
            let gating = sinks.map { entry -> Bool in
                switch entry {
                case .keep(let name): running[name]?.gatesProducers ?? true
                case .start(let spec): spec.gatesProducers
                }
            }
            let ring = EventRing<EventBatch>(capacity: ringCapacity, consumerGating: gating)
            var next: [SinkRunner] = []
            var started: [SinkRunner] = []
            for (entry, consumer) in zip(sinks, ring.consumers) {
                switch entry {
                case .keep(let name):
                    guard let runner = running[name] else { preconditionFailure("reload keeps sink \(name), which is not running") }
                    runner.chain.append(ring: ring, consumer: consumer)
                    next.append(runner)
                    outcome.kept.append(name)
                case .start(let spec):
                    let name = spec.configuration.name
                    let predecessor = running[name]
                    let counters = predecessor?.counters ?? set.counters.first { $0.name == name }
                    predecessor?.isReplaced = true
                    counters?.markReplaced()
                    let runner = SinkRunner(
                        configuration: spec.configuration, sink: spec.sink, chain: RingChain(ring: ring, consumer: consumer),
                        shutdown: shutdown, counters: counters, predecessor: predecessor, buffer: spec.buffer, taps: taps
                    )
                    if counters == nil { set.counters.append(runner.counters) }
                    next.append(runner)
                    started.append(runner)
                    outcome.started.append(name)
                }
            }
            let kept = Set(outcome.kept)
            for runner in set.current where !kept.contains(runner.configuration.name) {
                runner.chain.end()
                set.retiring.append(runner)
                outcome.finishing.append(runner.configuration.name)
            }
            set.retiring.removeAll { $0.isFinished }
            let previous = set.ring
            set.ring = ring
            set.current = next
            sinkSet.withLock { $0 = set }
            // Every sink reading the old ring knows what follows it; close it, and the sources
            // publish to the new one.
            previous.close()
            route.install(ring, transforms: transforms)
            for runner in started { runner.start() }
            outcome.ringReplaced = true
            return outcome
        }
    }

    /// What the transforms removed on purpose (see `BatchTransforms.removedEvents`).
    public var eventsRemovedByTransforms: [String: [String: Int]] {
        route.transforms?.removedEvents ?? [:]
    }

    /// The transforms running now (a reload replaces them).
    public var transforms: (any BatchTransforms)? {
        route.transforms
    }

    /// SIGHUP: every running sink closes the files it writes and starts new ones at their paths,
    /// before its next batch (or within its flush interval when idle).
    public func reopenFiles() {
        for runner in sinkRunners { runner.requestReopen() }
    }

    /// For a stop that cannot wait any longer: nothing enters the ring from now on, so a source
    /// held back by a stuck sink stops waiting, and counts what it held as not published.
    public func closeInput() {
        stageChange.withLock {
            if !route.hasEnded { route.end() }
        }
    }

    /// For a stop that cannot wait any longer for sinks that have not finished (a destination
    /// that neither answers nor fails): counts what each of them still held or had yet to read
    /// as dropped (`shutdown`), and returns the counts by sink. Their threads are left as they
    /// are; the process is about to exit.
    public func countUnfinishedAsDropped() -> [String: Int] {
        let set = sinkSet.withLock { $0 }
        var inRings: [String: Int] = [:]
        for runner in set.current + set.retiring where !runner.isFinished {
            inRings[runner.counters.name, default: 0] += runner.eventsStillInRings()
        }
        var dropped: [String: Int] = [:]
        let buffered = Set((set.current + set.retiring).filter { $0.buffer != nil }.map(\.counters.name))
        for counters in set.counters {
            guard let unread = inRings[counters.name] else { continue }
            // What a disk-buffered sink holds waits on disk; only its rings' unread part is lost.
            let held = buffered.contains(counters.name) ? 0 : max(0, counters.accepted.current - counters.events.current - counters.droppedAfterTaking)
            guard unread + held > 0 else { continue }
            // What it never read is taken on here, to be counted as dropped.
            counters.accepted.add(unread)
            counters.dropped(.shutdown).add(unread + held)
            dropped[counters.name] = unread + held
        }
        return dropped
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
