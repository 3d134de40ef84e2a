import SluiceConfig
import SluiceCore
import SluiceSinks
import SluiceSources
import SluiceSync

/// What every component builder gets besides its own configuration.
final class BuildContext: Sendable {
    /// This machine's host name, added to every event as `host`.
    let host: String
    /// The whole configuration's context (environment, collected problems, secrets).
    let config: ConfigContext
    /// The label names of each source, by source name (an `otlp` sink makes them resource
    /// attributes).
    let sourceLabels: [String: Set<String>]
    /// `data_dir`, where a `file` source keeps its checkpoints.
    let dataDirectory: String
    /// `limits.request_memory`: what requests in flight may hold, all listening sources together.
    let requestMemory: RequestMemoryBudget

    init(
        host: String, config: ConfigContext, sourceLabels: [String: Set<String>] = [:], dataDirectory: String = "/var/lib/sluice",
        requestMemory: RequestMemoryBudget = RequestMemoryBudget(capacity: RuntimeConfiguration.defaultRequestMemory)
    ) {
        self.host = host
        self.config = config
        self.sourceLabels = sourceLabels
        self.dataDirectory = dataDirectory
        self.requestMemory = requestMemory
    }
}

/// What a sink factory returns once the sink's settings are read: how to build it, and, for an
/// alert sink, its rules (`sluice test` evaluates them without starting notifiers).
struct SinkBlueprint {
    let build: () throws -> SinkMaker
    var alertRules: [AlertRule]?

    init(alertRules: [AlertRule]? = nil, _ build: @escaping () throws -> SinkMaker) {
        self.build = build
        self.alertRules = alertRules
    }
}

/// Reads a source's configuration (reporting problems to the reader's context, doing no I/O)
/// and returns how to build it once the whole configuration is valid.
typealias SourceFactory = @Sendable (_ name: String, _ reader: ConfigReader, _ context: BuildContext) -> @Sendable () throws -> any Source

/// The same for a sink.
typealias SinkFactory = @Sendable (_ name: String, _ reader: ConfigReader, _ context: BuildContext) -> SinkBlueprint

/// The source and sink types Sluice knows, by their `type` name in the configuration.
final class ComponentRegistry: Sendable {
    private let state: Locked<(sources: [String: SourceFactory], sinks: [String: SinkFactory])>

    init(sources: [String: SourceFactory] = [:], sinks: [String: SinkFactory] = [:]) {
        state = Locked((sources, sinks))
    }

    /// The built-in types and any an extension registered.
    static let shared = ComponentRegistry(sources: builtInSources, sinks: builtInSinks)

    static var builtInSourceTypes: [String] { Array(builtInSources.keys) }
    static var builtInSinkTypes: [String] { Array(builtInSinks.keys) }

    private static let builtInSources: [String: SourceFactory] = [
        "stdin": built { StdinSource(name: $0, reading: $1, host: $2.host) },
        "exec": built { ExecSource(name: $0, reading: $1, host: $2.host) },
        "fifo": built { FIFOSource(name: $0, reading: $1, host: $2.host) },
        "unix": built { StreamServerSource(name: $0, reading: $1, type: "unix", host: $2.host) },
        "tcp": built { StreamServerSource(name: $0, reading: $1, type: "tcp", host: $2.host) },
        "unix_dgram": built { DatagramSource(name: $0, reading: $1, type: "unix_dgram", host: $2.host) },
        "udp": built { DatagramSource(name: $0, reading: $1, type: "udp", host: $2.host) },
        "otlp": built { OTLPSource(name: $0, reading: $1, host: $2.host, budget: $2.requestMemory) },
        "nats": built { NATSSource(name: $0, reading: $1, host: $2.host) },
        "file": built { FileSource(name: $0, reading: $1, host: $2.host, dataDirectory: $2.dataDirectory) },
    ]

    private static let builtInSinks: [String: SinkFactory] = [
        "console": { _, _, _ in SinkBlueprint { .delivering(ConsoleSink()) } },
        "blackhole": { _, _, _ in SinkBlueprint { .delivering(BlackholeSink()) } },
        "alert": { name, reader, context in
            let settings = AlertSettings(reading: reader, sinkName: name, host: context.host) { $0.expression($1) }
            return SinkBlueprint(alertRules: settings.rules) {
                let dispatchers = Dictionary(uniqueKeysWithValues: settings.notifiers.map {
                    ($0.name, NotificationDispatcher(notifier: $0.notifier, settings: $0.settings))
                })
                return .delivering(AlertSink(name: name, rules: settings.rules, dispatchers: dispatchers, handOver: alertHandOvers.handOver(for: name)))
            }
        },
        "elasticsearch": { name, reader, _ in
            let settings = ElasticsearchSettings(reading: reader)
            return SinkBlueprint { try HTTPDeliverySink.maker(name: name, settings: settings.delivery, format: BulkFormat(target: settings.target)) }
        },
        "otlp": { name, reader, context in
            let settings = OTLPSinkSettings(reading: reader)
            return SinkBlueprint { try settings.makeSink(name: name, labels: context.sourceLabels) }
        },
        "http": { name, reader, _ in
            let settings = HTTPSinkSettings(reading: reader)
            return SinkBlueprint { try HTTPDeliverySink.maker(name: name, settings: settings.delivery, format: PlainFormat(encoding: settings.encoding)) }
        },
        "nats": { name, reader, _ in
            let settings = NATSSinkSettings(reading: reader, sinkName: name)
            return SinkBlueprint { .acknowledging { NATSSink(name: name, settings: settings, report: $0) } }
        },
        "program": { name, reader, _ in
            let settings = ProgramSettings(reading: reader)
            return SinkBlueprint { .acknowledging { ProgramSink(name: name, settings: settings, report: $0) } }
        },
        "archive": { name, reader, context in
            let settings = ArchiveSettings(reading: reader)
            return SinkBlueprint { .acknowledging { ArchiveSink(name: name, settings: settings, host: context.host, report: $0) } }
        },
    ]

    /// Each alert sink's state, by sink name, from one version to the next across reloads.
    private static let alertHandOvers = SinkStateHandOvers<AlertEngine>()

    /// A factory for a source whose initialiser reads its configuration and opens nothing, so
    /// it can be made while validating and started later as it is.
    static func built(_ make: @escaping @Sendable (String, ConfigReader, BuildContext) -> any Source) -> SourceFactory {
        { name, reader, context in
            let source = make(name, reader, context)
            return { source }
        }
    }

    func registerSource(type: String, _ factory: @escaping SourceFactory) {
        state.withLock { $0.sources[type] = factory }
    }

    func registerSink(type: String, _ factory: @escaping SinkFactory) {
        state.withLock { $0.sinks[type] = factory }
    }

    var sourceTypes: [String: SourceFactory] { state.withLock { $0.sources } }
    var sinkTypes: [String: SinkFactory] { state.withLock { $0.sinks } }
}
