import CLinux
import Logging
import SluiceBuffer
import SluiceConfig
import SluiceCore
import SluiceRing
import SluiceSources
import SluiceSync
import SluiceTransforms

#if canImport(Glibc)
import Glibc
#endif

/// Runs a validated configuration until the stream ends or a signal stops it.
///
/// SIGTERM or SIGINT starts draining: sources stop accepting new writers and keep reading what
/// connected writers send until they close or `shutdown.grace_period` passes; then the ring
/// closes and every sink writes out everything published. A second signal ends the grace
/// period at once. Once the grace period is over (or after the second signal), sinks stop
/// retrying and get `stopAllowanceNanoseconds` more to finish; a sink still busy then (a
/// destination that neither answers nor fails) is left behind, what it held is counted as
/// dropped (`shutdown`), and Sluice exits. SIGHUP reloads (see `Supervisor+Reload.swift`). The
/// last log line reports what was read, delivered and dropped.
final class Supervisor {
    /// The configuration running now; a reload replaces it.
    var configuration: RuntimeConfiguration
    /// Loads the configuration again from where it came from (nil: SIGHUP only reopens files).
    let reload: (() throws(ConfigurationError) -> RuntimeConfiguration)?
    let logger = Logger(label: "sluice")
    /// The sinks' disk buffers, kept across reloads.
    let diskBuffers = DiskBuffers()
    /// The transforms the pipeline runs now: a reload's new ones take over their state.
    var transforms: TransformStage?

    /// How long sinks have, once stopping began, before Sluice exits without them.
    static let stopAllowanceNanoseconds: UInt64 = 2_000_000_000

    init(configuration: RuntimeConfiguration, reload: (() throws(ConfigurationError) -> RuntimeConfiguration)? = nil) {
        self.configuration = configuration
        self.reload = reload
    }

    /// Runs to the end and returns the process exit status: in wrap mode the wrapped program's
    /// (128 + N when signal N ended it; 127 or 126 when it could not be started).
    func run() throws -> Int32 {
        JSONLogHandler.reopen()
        for notice in configuration.context.notices { logger.warning("\(notice)") }
        do {
            try diskBuffers.prepare(
                configuration.sinks, dataDirectory: configuration.dataDirectory, lockingDataDirectory: configuration.usesDataDirectory
            )
        } catch {
            logger.critical("cannot use data_dir (disk buffers, file checkpoints); not starting", metadata: ["error": "\(error)"])
            return 1
        }
        defer { diskBuffers.closeAll() }
        let signals = SignalWatcher()
        let openFileLimit = ProcessLimits.raiseOpenFileLimit()
        let sources = try configuration.sources.map { try $0.build() }
        let wrapped = configuration.wrappedProgram
        if wrapped != nil {
            // Orphans of the wrapped app come to Sluice (as to PID 1) and are reaped on SIGCHLD.
            _ = sluice_become_subreaper()
        }
        let sinks = try configuration.sinks.map { planned in
            Pipeline.SinkSpec(configuration: planned.configuration, sink: try planned.build(), buffer: diskBuffers.byName[planned.name])
        }
        transforms = configuration.transformStage()
        let pipeline = Pipeline(sources: sources, sinks: sinks, ringCapacity: configuration.ringCapacity, transforms: transforms)
        pipeline.start()
        let unhealthyAfter = configuration.unhealthyAfterNanoseconds
        let metrics = startMetrics(for: pipeline, unhealthyAfterNanoseconds: unhealthyAfter)
        defer { metrics?.stop() }
        logger.info("started", metadata: [
            "sources": .array(configuration.sources.map { .string("\($0.name) (\($0.type))") }),
            "sinks": .array(configuration.sinks.map { .string("\($0.name) (\($0.type))") }),
            "ring_slots": "\(pipeline.ring.capacity)",
            "open_file_limit": "\(openFileLimit)",
        ])
        supervise(pipeline, signals: signals, forwarders: sources.filter(\.forwardsSignals))
        diskBuffers.closeAll()
        if let failure = wrapped?.spawnFailure {
            logger.critical("\(failure)", metadata: ["exit_status": "\(failure.exitStatus)"])
        }
        CrashPoints.recordCount()
        let unbalanced = Self.unbalancedBooks(pipeline, diskBuffers: diskBuffers)
        logSummary(pipeline, unbalanced: unbalanced)
        if let wrapped {
            return wrapped.spawnFailure?.exitStatus ?? wrapped.exit?.shellStatus ?? 1
        }
        return pipeline.failures.isEmpty && !Self.droppedAny(pipeline) && !Self.lostInput(pipeline) && unbalanced.isEmpty ? 0 : 1
    }

    /// Whether a source lost input before it could read it (a file gone while Sluice was
    /// stopped, with bytes past its checkpoint).
    static func lostInput(_ pipeline: Pipeline) -> Bool {
        pipeline.sourceCounters.contains { $0.lostInputBytes.current > 0 }
    }

    /// Serves `/metrics`, the probes and the admin API (`AdminEndpoints`) when configured. A
    /// port that cannot be bound is an error in the log, not a reason to stop routing events.
    private func startMetrics(for pipeline: Pipeline, unhealthyAfterNanoseconds unhealthyAfter: UInt64) -> MetricsServer? {
        guard let address = configuration.metricsAddress else { return nil }
        let endpoints = AdminEndpoints(
            pipeline: pipeline, unhealthyAfterNanoseconds: unhealthyAfter,
            startedAtMilliseconds: EventTimestamp.nowMilliseconds(), token: configuration.adminToken
        )
        do {
            let server = try MetricsServer(address: address, respond: endpoints.answer)
            logger.info("metrics listening", metadata: ["address": "\(address)", "port": "\(server.port)"])
            return server
        } catch {
            logger.error("cannot serve metrics; running without them", metadata: ["address": "\(address)", "error": "\(error)"])
            return nil
        }
    }

    private func supervise(_ pipeline: Pipeline, signals: borrowing SignalWatcher, forwarders: [any Source]) {
        var graceDeadline: UInt64?
        var stopDeadline: UInt64?
        var descriptors = [
            pollfd(fd: pipeline.finishedDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: pipeline.sourceEndedDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        let stopNow = { (reason: String) in
            self.logger.warning("\(reason)")
            pipeline.shutdown.stopNow()
            graceDeadline = nil
            stopDeadline = MonotonicClock.nowNanoseconds() + Self.stopAllowanceNanoseconds
        }
        while true {
            let now = MonotonicClock.nowNanoseconds()
            if let deadline = graceDeadline, now >= deadline {
                stopNow(pipeline.shutdown.isDraining
                    ? "grace period over; stopping sources now"
                    : "input ended a grace period ago and sinks still hold events; stopping them")
                continue
            }
            if let deadline = stopDeadline, now >= deadline {
                abandonUnfinishedSinks(pipeline)
                return
            }
            let nextDeadline = [graceDeadline, stopDeadline].compactMap { $0 }.min()
            let timeout = nextDeadline.map { Int32(min(($0 - now) / 1_000_000 + 1, UInt64(Int32.max))) } ?? -1
            _ = poll(&descriptors, 3, timeout)
            if descriptors[0].revents != 0 { return }
            if descriptors[2].revents != 0 {
                var scratch = [UInt8](repeating: 0, count: 64)
                _ = read(pipeline.sourceEndedDescriptor, &scratch, scratch.count)
                let ended = pipeline.endedSourceIndices
                if let index = configuration.wrappedSourceIndex, ended.contains(index), !pipeline.shutdown.isDraining {
                    // Wrap mode: Sluice lives as long as the wrapped program.
                    logger.info("wrapped program ended; draining")
                    pipeline.shutdown.beginDraining()
                    graceDeadline = MonotonicClock.nowNanoseconds() + configuration.gracePeriodNanoseconds
                } else if ended.count == configuration.sources.count, graceDeadline == nil, stopDeadline == nil {
                    // Every source has ended (a pipe's EOF): the sinks get the grace period to
                    // deliver what is left, as after SIGTERM, so a pipe job ends even when a
                    // destination is down. Not draining: a disk-buffered sink keeps delivering
                    // from its buffer until the deadline.
                    logger.info("input ended; delivering what is left", metadata: [
                        "grace_period": "\(Units.formatDuration(configuration.gracePeriodNanoseconds))",
                    ])
                    graceDeadline = MonotonicClock.nowNanoseconds() + configuration.gracePeriodNanoseconds
                }
            }
            guard descriptors[1].revents != 0 else { continue }
            for signal in signals.drain() {
                if signal == SIGCHLD {
                    ChildReaper.shared.reapAll()
                    continue
                }
                if configuration.forwardedSignals.contains(signal) {
                    for forwarder in forwarders { forwarder.forward(signal) }
                }
                switch signal {
                case SIGHUP:
                    reloadOnHangUp(pipeline)
                case SIGTERM, SIGINT, SIGQUIT:
                    if pipeline.shutdown.isDraining {
                        if !pipeline.shutdown.isStopping { stopNow("second signal (\(SignalWatcher.name(of: signal))); stopping sources now") }
                    } else {
                        logger.info("draining", metadata: [
                            "signal": "\(SignalWatcher.name(of: signal))",
                            "grace_period": "\(Units.formatDuration(configuration.gracePeriodNanoseconds))",
                        ])
                        pipeline.shutdown.beginDraining()
                        graceDeadline = MonotonicClock.nowNanoseconds() + configuration.gracePeriodNanoseconds
                    }
                default:
                    let forwarded = !forwarders.isEmpty && configuration.forwardedSignals.contains(signal)
                    logger.debug(forwarded ? "signal forwarded" : "signal ignored", metadata: ["signal": "\(SignalWatcher.name(of: signal))"])
                }
            }
        }
    }

    /// The stop allowance is over and some sinks are still busy: count what they hold as
    /// dropped and leave them behind.
    private func abandonUnfinishedSinks(_ pipeline: Pipeline) {
        // First no more input (sources held back by a stuck sink let go, counting what they
        // held), then what the sinks never read is final and is counted.
        pipeline.closeInput()
        let deadline = MonotonicClock.nowNanoseconds() + 500_000_000
        while pipeline.endedSourceIndices.count < configuration.sources.count, MonotonicClock.nowNanoseconds() < deadline {
            usleep(10_000)
        }
        let dropped = pipeline.countUnfinishedAsDropped()
        logger.error("sinks still busy after the stop allowance; exiting without them, what they held counted as dropped (shutdown)", metadata: [
            "allowance": "\(Units.formatDuration(Self.stopAllowanceNanoseconds))",
            "dropped": .dictionary(dropped.mapValues { .string("\($0)") }),
        ])
    }
}
