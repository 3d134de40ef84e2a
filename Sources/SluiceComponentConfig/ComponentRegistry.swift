public import SluiceConfig
public import SluiceCore

/// What every component builder gets besides its own configuration.
public final class BuildContext: Sendable {
    /// This machine's host name, added to every event as `host`.
    public let host: String
    /// The whole configuration's context (environment, collected problems, secrets).
    public let config: ConfigContext
    /// The label names of each source, by source name (an `otlp` sink makes them resource
    /// attributes).
    public let sourceLabels: [String: Set<String>]
    /// `data_dir`, where a `file` source keeps its checkpoints.
    public let dataDirectory: String
    /// `limits.request_memory`: what requests in flight may hold, all listening sources together.
    public let requestMemory: RequestMemoryBudget

    public init(
        host: String, config: ConfigContext, sourceLabels: [String: Set<String>], dataDirectory: String, requestMemory: RequestMemoryBudget
    ) {
        self.host = host
        self.config = config
        self.sourceLabels = sourceLabels
        self.dataDirectory = dataDirectory
        self.requestMemory = requestMemory
    }
}

/// What a sink type's builder returns once the sink's settings are read: how to make the sink
/// when Sluice starts (and again at every reload that changes it).
public struct SinkBlueprint {
    public let build: () throws -> SinkMaker
    /// For a sink that decides on events itself (alerts): the names of the rules a batch fires
    /// with fresh state, for `sluice test` (which starts no notifier).
    public var firingRules: ((EventBatch) -> [String])?

    public init(firingRules: ((EventBatch) -> [String])? = nil, _ build: @escaping () throws -> SinkMaker) {
        self.build = build
        self.firingRules = firingRules
    }
}

/// Reads a source's configuration (reporting problems to the reader's context, doing no I/O)
/// and returns how to build it once the whole configuration is valid.
public typealias SourceFactory = @Sendable (_ name: String, _ reader: ConfigReader, _ context: BuildContext) -> @Sendable () throws -> any Source

/// The same for a sink.
public typealias SinkFactory = @Sendable (_ name: String, _ reader: ConfigReader, _ context: BuildContext) -> SinkBlueprint

/// A source or sink type under its `type` name in the configuration, and what builds one:
/// each type declares its own beside its configuration reading (`StdinSource.registration`).
public struct ComponentRegistration<Factory: Sendable>: Sendable {
    public let type: String
    public let factory: Factory

    public init(type: String, factory: Factory) {
        self.type = type
        self.factory = factory
    }
}

public typealias SourceRegistration = ComponentRegistration<SourceFactory>
public typealias SinkRegistration = ComponentRegistration<SinkFactory>

extension ComponentRegistration where Factory == SourceFactory {
    /// A source whose initialiser reads its configuration and opens nothing, so it can be made
    /// while validating and started later as it is.
    public init(type: String, made make: @escaping @Sendable (_ name: String, _ reader: ConfigReader, _ context: BuildContext) -> any Source) {
        self.init(type: type) { name, reader, context in
            let source = make(name, reader, context)
            return { source }
        }
    }
}

/// The source and sink types a run of Sluice knows, by their `type` name in the configuration:
/// the built-in ones and any an extension added. A value, made once per command and handed to
/// whatever reads a configuration.
public struct ComponentRegistry: Sendable {
    public private(set) var sources: [String: SourceFactory] = [:]
    public private(set) var sinks: [String: SinkFactory] = [:]

    public init(sources: [SourceRegistration] = [], sinks: [SinkRegistration] = []) {
        for registration in sources { register(registration) }
        for registration in sinks { register(registration) }
    }

    public mutating func register(_ registration: SourceRegistration) {
        sources[registration.type] = registration.factory
    }

    public mutating func register(_ registration: SinkRegistration) {
        sinks[registration.type] = registration.factory
    }
}
