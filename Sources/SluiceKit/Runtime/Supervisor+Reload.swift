import Logging
import SluiceConfig
import SluiceCore
import SluiceRing
import SluiceSync
import SluiceTransforms

/// SIGHUP: reopen files and reload the configuration, without losing an event.
///
/// The configuration is read again from the same files. A sink whose effective settings did not
/// change (secrets compared too) keeps running as it is: not rebuilt, not paused; it closes the
/// files it writes and opens new ones at their paths (so a rotation tool can move a file away
/// and send SIGHUP). A changed sink's new version starts once the old version has read its
/// backlog; a removed sink finishes its backlog on its own. Nothing is dropped: under `block` a
/// sink that cannot deliver keeps what it holds until it can, or until SIGTERM's grace period
/// ends. The supervisor never waits for any of it, so SIGTERM and SIGCHLD are handled as usual
/// while sinks catch up (`Pipeline.reload`).
///
/// When the files do not validate, every problem is logged and the running configuration stays,
/// its files still reopened. What a reload does not change: sources (their open connections and
/// listening sockets would be lost, so a changed `sources` section is refused with an error and
/// takes a restart), a sink's buffer type and `data_dir` (refused the same way), `metrics.*` and
/// `shutdown.grace_period` of the running process. Transforms are rebuilt, and a step whose
/// settings did not change keeps its state (throttle buckets, dedupe windows, the sample count;
/// see `TransformShared`). A disk-buffered sink that changes keeps its
/// buffer (new `max_bytes` or `sync` apply at once): the new version reads on from where the old
/// one stops reading. A changed
/// sink that conforms to `ReloadInheriting` takes over the state of the one it replaces (an alert
/// sink keeps the windows, cooldowns and counts of its unchanged rules); the per-sink event
/// counters continue.
extension Supervisor {
    func reloadOnHangUp(_ pipeline: Pipeline) {
        guard !pipeline.shutdown.isDraining else {
            logger.warning("SIGHUP during shutdown; not reloading")
            return
        }
        let started = MonotonicClock.nowNanoseconds()
        let next = reloadedConfiguration()
        do {
            try diskBuffers.prepare(next.sinks, dataDirectory: next.dataDirectory)
        } catch {
            logger.error("cannot open the reloaded configuration's disk buffers; keeping the running sinks", metadata: ["error": "\(error)"])
            pipeline.reopenFiles()
            return
        }
        let running = Dictionary(pipeline.sinkRunners.map { ($0.configuration.name, $0.configuration.inputs) }, uniquingKeysWith: { first, _ in first })
        let runningFingerprints = Dictionary(configuration.sinks.map { ($0.name, $0.fingerprint) }, uniquingKeysWith: { first, _ in first })
        var plan: [Pipeline.ReloadedSink] = []
        do {
            for planned in next.sinks {
                // Kept: the same settings, reading the same inputs by the same numbers (a change
                // to the transforms can renumber them).
                if let inputs = running[planned.name], inputs == planned.configuration.inputs,
                   runningFingerprints[planned.name] == planned.fingerprint {
                    plan.append(.keep(name: planned.name))
                } else {
                    let spec = Pipeline.SinkSpec(configuration: planned.configuration, sink: try planned.build(), buffer: diskBuffers.byName[planned.name])
                    plan.append(.start(spec))
                }
            }
        } catch {
            logger.error("cannot build the sinks; keeping the running ones", metadata: ["error": "\(error)"])
            finishUnused(plan)
            pipeline.reopenFiles()
            return
        }
        let nextTransforms = next.transformStage(replacing: transforms)
        guard let outcome = pipeline.reload(plan, ringCapacity: next.ringCapacity, transforms: nextTransforms) else {
            finishUnused(plan)
            return
        }
        transforms = nextTransforms
        pipeline.reopenFiles()
        let transformsChanged = next.context.effective.render(only: "transforms") != configuration.context.effective.render(only: "transforms")
        configuration = next
        logger.info(outcome.ringReplaced || transformsChanged ? "configuration reloaded; files reopened" : "files reopened", metadata: [
            "sinks_kept": .array(outcome.kept.map { .string($0) }),
            "sinks_started": .array(outcome.started.map { .string($0) }),
            "sinks_finishing": .array(outcome.finishing.map { .string($0) }),
            "ring_slots": "\(pipeline.ring.capacity)",
            "milliseconds": "\((MonotonicClock.nowNanoseconds() - started) / 1_000_000)",
        ])
    }

    /// Releases what sinks built for a reload that did not happen hold (threads, clients); an
    /// acknowledging sink is only made by its runner, so it holds nothing yet.
    private func finishUnused(_ plan: [Pipeline.ReloadedSink]) {
        for case .start(let spec) in plan {
            if case .delivering(let sink) = spec.sink { try? sink.finish() }
        }
    }

    /// The configuration as the files say now, or the running one (with an error) when they
    /// do not validate or change the sources.
    private func reloadedConfiguration() -> RuntimeConfiguration {
        guard let reload else { return configuration }
        let next: RuntimeConfiguration
        do {
            next = try reload()
        } catch {
            logger.error("configuration reload failed; keeping the running configuration", metadata: [
                "problems": .array(error.issues.map { .string($0.description) }),
            ])
            return configuration
        }
        let runningSources = configuration.context.effective.render(only: "sources")
        guard next.context.effective.render(only: "sources") == runningSources else {
            logger.error("the reloaded configuration changes sources; restart Sluice to apply that (a reload keeps connected writers); keeping the running configuration")
            return configuration
        }
        let runningBuffers = Dictionary(configuration.sinks.map { ($0.name, $0.diskBuffer != nil) }, uniquingKeysWith: { first, _ in first })
        let switched = next.sinks.filter { sink in runningBuffers[sink.name].map { $0 != (sink.diskBuffer != nil) } ?? false }.map(\.name)
        guard switched.isEmpty else {
            logger.error("the reloaded configuration changes a sink's buffer type (memory or disk); restart Sluice to apply that; keeping the running configuration", metadata: [
                "sinks": .array(switched.map { .string($0) }),
            ])
            return configuration
        }
        JSONLogHandler.redact(next.context.secrets)
        return next
    }
}
