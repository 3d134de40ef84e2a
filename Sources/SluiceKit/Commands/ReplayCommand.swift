import ArgumentParser
import Glibc
import Logging
import SluiceComponentConfig
import SluiceConfig
import SluiceCore
import SluiceSinks
import SluiceSync
import Synchronization

/// `sluice replay PATH... --sink NAME [--from TIME] [--to TIME] [--where EXPR]`: re-sends
/// archived events to a configured sink, with that sink's own batching and retries. Safe to
/// repeat against the indexer: an archive file's events get the same ids on every replay (see
/// `ArchiveReplaySource`), so nothing is indexed twice. Progress on a terminal; a summary at the
/// end. Exits 0 when every event was delivered or found already present (a repeated replay).
struct ReplayCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-send archived events to a configured sink (backfill after an outage)."
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The configured sink to send to.")
    var sink: String

    @Option(help: "Only events at or after this time (RFC 3339 or epoch).")
    var from: String?

    @Option(help: "Only events before this time (RFC 3339 or epoch).")
    var to: String?

    @Option(name: .customLong("where"), help: "Only events satisfying this expression.")
    var filter: String?

    @Argument(help: ArgumentHelp("Archive files (.ndjson.gz).", valueName: "path"))
    var paths: [String]

    func run(with registry: ComponentRegistry) throws {
        var standardError = StandardError()
        let environment = ProcessEnvironment.current
        JSONLogHandler.bootstrap(environment: environment)
        let configuration = try options.loadOrExit(registry: registry, environment: environment)
        JSONLogHandler.redact(configuration.context.secrets)
        guard let planned = configuration.sinks.first(where: { $0.name == sink }) else {
            let names = configuration.sinks.map(\.name).joined(separator: ", ")
            print("no enabled sink is named \"\(sink)\" (sinks: \(names))", to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
        let fromTime = try from.map { try Self.time($0, option: "--from") }
        let toTime = try to.map { try Self.time($0, option: "--to") }
        let expression: Expression?
        do {
            expression = try filter.map(ExpressionParser.parse)
        } catch {
            print("--where: \(error)", to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
        let source = ArchiveReplaySource(
            paths: paths, sourceNames: configuration.sources.map(\.name), from: fromTime, to: toTime, filter: expression
        )
        var sinkConfiguration = planned.configuration
        sinkConfiguration.inputs = nil
        let pipeline = Pipeline(
            sources: [source], sinks: [Pipeline.SinkSpec(configuration: sinkConfiguration, sink: try planned.build())],
            ringCapacity: configuration.ringCapacity
        )
        let progress = ReplayProgress(source: source, pipeline: pipeline, toTerminal: isatty(2) != 0)
        pipeline.start()
        progress.runUntilFinished()
        let problems = source.damaged.withLock { $0 }
        for problem in problems { print(problem, to: &standardError) }
        let counters = pipeline.sinkRunners[0].counters
        let read = pipeline.sourceCounters[0].events.current
        let alreadyPresent = counters.dropped(.alreadyPresent).current
        let dropped = counters.droppedTotal - alreadyPresent
        progress.summary(read: read, delivered: counters.events.current, alreadyPresent: alreadyPresent, dropped: dropped)
        if dropped > 0 || !problems.isEmpty { throw ExitCode(1) }
    }

    private static func time(_ text: String, option: String) throws -> Int64 {
        var text = text
        guard let milliseconds = text.withUTF8({ EventTimestamp.parse(UnsafeRawBufferPointer($0)) }) else {
            throw ValidationError("\(option) \(text): expected an RFC 3339 time such as 2024-06-01T00:00:00Z, or an epoch number")
        }
        return milliseconds
    }
}

/// Progress of a replay: a line redrawn twice a second on a terminal (events, bytes, rate,
/// ETA from the compressed bytes read), nothing otherwise; SIGINT/SIGTERM stop it.
struct ReplayProgress {
    let source: ArchiveReplaySource
    let pipeline: Pipeline
    let toTerminal: Bool
    private let started = MonotonicClock.nowNanoseconds()
    private let logger = Logger(label: "sluice.replay")

    init(source: ArchiveReplaySource, pipeline: Pipeline, toTerminal: Bool) {
        self.source = source
        self.pipeline = pipeline
        self.toTerminal = toTerminal
    }

    func runUntilFinished() {
        let signals = SignalWatcher()
        let total = max(1, source.totalCompressedBytes)
        var descriptors = [
            pollfd(fd: pipeline.finishedDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            _ = poll(&descriptors, 2, toTerminal ? 500 : -1)
            if descriptors[0].revents != 0 { break }
            if descriptors[1].revents != 0 {
                for signal in signals.drain() where [SIGINT, SIGTERM].contains(signal) {
                    logger.warning("replay interrupted; finishing what was read")
                    pipeline.shutdown.stopNow()
                }
            }
            guard toTerminal else { continue }
            let seconds = Double(MonotonicClock.nowNanoseconds() - started) / 1e9
            let delivered = pipeline.sinkRunners[0].counters.events.current
            let bytes = pipeline.sinkRunners[0].counters.bytes.current
            let fraction = Double(source.compressedBytesRead.load(ordering: .relaxed)) / Double(total)
            let eta = fraction > 0.01 ? Int(seconds / fraction - seconds) : -1
            let line = "\r\(delivered) events, \(bytes / 1_000_000) MB, \(Int(Double(delivered) / max(seconds, 0.001)))/s, "
                + (eta >= 0 ? "ETA \(eta / 60):\(String(format2: eta % 60))   " : "ETA --   ")
            var standardError = StandardError()
            print(line, terminator: "", to: &standardError)
        }
        if toTerminal {
            var standardError = StandardError()
            print("", to: &standardError)
        }
    }

    func summary(read: Int, delivered: Int, alreadyPresent: Int, dropped: Int) {
        let seconds = Double(MonotonicClock.nowNanoseconds() - started) / 1e9
        logger.info("replay finished", metadata: [
            "events_read": "\(read)", "events_delivered": "\(delivered)", "events_already_present": "\(alreadyPresent)",
            "events_dropped": "\(dropped)",
            "events_skipped": "\(source.skipped.load(ordering: .relaxed))", "seconds": "\(Int(seconds * 10) / 10)",
        ])
    }
}

extension String {
    init(format2 value: Int) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
