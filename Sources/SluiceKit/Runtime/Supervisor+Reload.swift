import Logging
import SluiceConfig
import SluiceCore
import SluiceRing

/// SIGHUP: reopen files and reload the configuration, without losing an event.
///
/// Every sink is rebuilt and swapped in behind the running sources (`Pipeline.replaceSinks`):
/// the old sinks write out what they hold and finish (an archive closes its member and its
/// file, the indexer sends what it has), then the new ones start. So a SIGHUP always reopens
/// files: an external rotation tool moves a file away, sends SIGHUP, and Sluice writes a new
/// one. The configuration is read again from the same files; when it does not validate, the
/// error lists every problem and the running configuration is rebuilt as it was (its files
/// still reopened).
///
/// What a reload does not change: sources (their open connections and listening sockets
/// would be lost, so a changed `sources` section is refused with an error, and a restart
/// applies it), `metrics.*` and `shutdown.grace_period` of the running process. Sinks that
/// conform to `ReloadInheriting` take over the state of the sink they replace (an alert sink
/// keeps the windows, cooldowns and counts of its unchanged rules); other sink-specific
/// metrics (indexer retries) restart from zero; the per-sink event counters continue.
extension Supervisor {
    func reloadOnHangUp(_ pipeline: Pipeline) {
        guard !pipeline.shutdown.isDraining else {
            logger.warning("SIGHUP during shutdown; not reloading")
            return
        }
        let started = MonotonicClock.nowNanoseconds()
        let next = reloadedConfiguration()
        let sinks: [Pipeline.SinkSpec]
        do {
            sinks = try next.sinks.map { Pipeline.SinkSpec(configuration: $0.configuration, sink: try $0.build()) }
        } catch {
            logger.error("cannot build the sinks; keeping the running ones", metadata: ["error": "\(error)"])
            return
        }
        let previous = Set(pipeline.sinkRunners.map(\.counters.name))
        guard pipeline.replaceSinks(with: sinks, ringCapacity: next.ringCapacity, drainTimeoutNanoseconds: configuration.gracePeriodNanoseconds) else {
            return
        }
        let reloaded = next.context !== configuration.context
        configuration = next
        let removed = previous.subtracting(next.sinks.map(\.name))
        logger.info(reloaded ? "configuration reloaded; files reopened" : "files reopened", metadata: [
            "sinks": .array(next.sinks.map { .string("\($0.name) (\($0.type))") }),
            "sinks_removed": .array(removed.sorted().map { .string($0) }),
            "ring_slots": "\(pipeline.ring.capacity)",
            "milliseconds": "\((MonotonicClock.nowNanoseconds() - started) / 1_000_000)",
        ])
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
        JSONLogHandler.redact(next.context.secrets)
        return next
    }
}
