import SluiceBuffer
import SluiceComponentConfig
import SluiceConfig
import SluiceCore
import SluiceSinks
import SluiceSources
import SluiceTransforms

/// A fully validated configuration, ready to build: nothing has been opened yet.
struct RuntimeConfiguration {
    struct PlannedSource {
        let name: String
        let type: String
        let build: @Sendable () throws -> any Source
    }

    struct PlannedSink {
        let name: String
        let type: String
        var configuration: SinkRunner.Configuration
        let build: () throws -> SinkMaker
        /// For an alert sink: the rules a batch fires (for `sluice test`).
        var firingRules: ((EventBatch) -> [String])?
        /// The sink's effective settings (secrets by hash), for a reload to tell whether it
        /// changed: an unchanged sink is kept running as it is.
        var fingerprint = ""
        /// Its disk buffer, when `buffer.type` is `disk`.
        var diskBuffer: DiskBufferSettings?
    }

    var sources: [PlannedSource]
    /// `transforms:` between the sources and the sinks (see `TransformStage`).
    var transforms: [TransformDefinition] = []
    var sinks: [PlannedSink]
    /// Wrap mode (`sluice -- app ARG...`): the index of the wrapped program's source.
    var wrappedSourceIndex: Int?
    /// Wrap mode: the wrapped program's source, as built (its exit status is Sluice's).
    var wrappedProgram: ExecSource?
    /// `ring.max_bytes` (formerly `buffer.max_bytes`): what the ring may hold, in bytes of
    /// encoded events.
    var bufferMaxBytes: Int
    /// `data_dir`: where disk buffers and file checkpoints live.
    var dataDirectory = "/var/lib/sluice"

    /// Whether something keeps state in `data_dir` (a disk buffer, a file source's checkpoints):
    /// then this Sluice locks it.
    var usesDataDirectory: Bool {
        sinks.contains { $0.diskBuffer != nil } || sources.contains { $0.type == "file" }
    }
    /// `shutdown.grace_period`: how long SIGTERM waits for writers to finish.
    var gracePeriodNanoseconds: UInt64
    /// `metrics.address` when `metrics.enabled`: where `/metrics`, `/healthz` and `/readyz` are served.
    var metricsAddress: String?
    /// `metrics.unhealthy_after`: a sink failing this long is `failing` (and, without a disk
    /// buffer, makes `/readyz` answer 503).
    var unhealthyAfterNanoseconds: UInt64 = 30_000_000_000
    /// `metrics.token`: the bearer token the admin API (`/api/...`) asks for; nil: none asked.
    var adminToken: String?
    /// `wrap.forward_signals`: what Sluice passes on to the programs it runs as sources.
    var forwardedSignals: Set<Int32> = Self.defaultForwardedSignals
    let context: ConfigContext

    /// Ring slots for `bufferMaxBytes`: one batch per slot, each batch at most about
    /// `assumedBatchBytes` of encoded events.
    var ringCapacity: Int {
        max(8, bufferMaxBytes / Self.assumedBatchBytes)
    }

    static let assumedBatchBytes = 512 * 1024

    /// `limits.request_memory`'s default: what requests being read, decoded and waiting to be
    /// published may hold, all listening sources together.
    static let defaultRequestMemory = 64 << 20

    /// The configuration used when neither `--config` nor `$SLUICE_CONFIG` names a file.
    static let builtInDefault = """
        sources:
          stdin: { type: stdin, format: auto }
        sinks:
          console: { type: console }
        """

    /// The same for wrap mode: the wrapped program is the source (Sluice's stdin belongs to it).
    static let builtInWrapDefault = """
        sinks:
          console: { type: console }
        """

    /// The source name wrap mode gives the wrapped program. `sources.app` in a file may set its
    /// format, labels, line limit and multiline rule (not its type or command).
    static let wrappedSourceName = "app"

    /// Loads, merges and validates configuration files (later files deep-merge over earlier
    /// ones), with environment overrides. Without files, `$SLUICE_CONFIG` names one; without
    /// that, the built-in default applies.
    static func load(
        files: [String],
        environment: [String: String],
        wrappedCommand: [String] = [],
        registry: ComponentRegistry = .builtIn,
        host: String = HostName.current
    ) throws(ConfigurationError) -> RuntimeConfiguration {
        let context = ConfigContext(environment: environment)
        let root = mergedDocument(files: files, environment: environment, wrapping: !wrappedCommand.isEmpty, context: context)
        // A file that cannot be read or parsed is the only problem to name: whatever else a
        // partial document lacks ("no sink is enabled") follows from it.
        if !context.issues.isEmpty { try context.validate() }
        context.noteInterpolatedVariables(in: root)
        let reader = ConfigReader(root: root, context: context)
        let dataDirectoryPath = reader.string("data_dir", default: "/var/lib/sluice")
        let limits = reader.section("limits")
        let requestMemory = limits.size("request_memory", default: defaultRequestMemory, range: (1 << 20)...(64 << 30))
        limits.rejectUnknownKeys()
        let build = BuildContext(
            host: host, config: context, sourceLabels: sourceLabels(in: root), dataDirectory: dataDirectoryPath,
            requestMemory: RequestMemoryBudget(capacity: requestMemory)
        )

        let wrapped = wrappedCommand.isEmpty ? nil : wrappedSourceName
        var sources = readSources(reader, registry: registry, build: build, skipping: wrapped)
        var wrappedSourceIndex: Int?
        var wrappedProgram: ExecSource?
        if !wrappedCommand.isEmpty {
            for source in sources where source.type == "stdin" {
                reader.section("sources").section(source.name).reportInvalid(
                    "type", "in wrap mode (sluice -- app ...) Sluice's stdin belongs to the wrapped program; remove this source, or name it \"\(wrappedSourceName)\" to set how the program's output is read"
                )
            }
            wrappedSourceIndex = sources.count
            let wrapped = wrappedSource(wrappedCommand, reader: reader.section("sources").section(wrappedSourceName), host: host)
            sources.append(wrapped.planned)
            wrappedProgram = wrapped.program
        }
        // The names in the order of `sources` (the wrapped program last), so that an input's
        // index is its source's: inputs may name any configured source, including one with
        // problems of its own (then validation fails anyway).
        let sourceNames = reader.section("sources").presentKeys.filter { $0 != wrapped } + (wrapped.map { [$0] } ?? [])
        let transforms = readTransforms(reader, sourceNames: sourceNames, root: root)
        var sinks = readSinks(reader, inputNames: sourceNames + transforms.map(\.name), registry: registry, build: build)
        // A sink that names no inputs takes every source, never a transform's output (as in
        // Vector, a transform's output goes only where it is named).
        for index in sinks.indices where sinks[index].configuration.inputs == nil {
            sinks[index].configuration.inputs = Set(sourceNames.indices)
        }
        let bufferMaxBytes = readRingSize(reader, context: context)
        let dataDirectory = checkDataDirectory(dataDirectoryPath, reader: reader, needed: sinks.contains { $0.diskBuffer != nil } || sources.contains { $0.type == "file" })
        let shutdown = reader.section("shutdown")
        let grace = shutdown.duration("grace_period", default: 10_000_000_000)
        shutdown.rejectUnknownKeys()
        let forwardedSignals = readForwardedSignals(reader.section("wrap"))
        let metrics = reader.section("metrics")
        // A pipe (`app | sluice`, every source stdin) is a command-line tool: two at once must
        // not fight over a port, so it serves metrics only when asked (`metrics.enabled`,
        // `metrics.address` or `PORT`). Sidecars and wrapped apps serve them by default.
        let isPipe = wrappedCommand.isEmpty && !sources.isEmpty && sources.allSatisfy { $0.type == "stdin" }
        let metricsAskedFor = metrics.contains("address") || environment["PORT"] != nil
        let metricsEnabled = metrics.bool("enabled", default: !isPipe || metricsAskedFor)
        let metricsAddress = metrics.string("address", default: "127.0.0.1:\(environment["PORT"] ?? "9880")")
        let unhealthyAfter = metrics.duration("unhealthy_after", default: 30_000_000_000)
        let adminToken = metrics.secret("token")
        if metricsAddress.lastIndex(of: ":").flatMap({ Int(metricsAddress[metricsAddress.index(after: $0)...]) }) == nil {
            metrics.reportInvalid("address", "expected host:port, such as 127.0.0.1:9880")
        }
        metrics.rejectUnknownKeys()
        reader.rejectUnknownKeys()
        context.reportUnusedVariables()
        try context.validate()
        for index in sinks.indices {
            sinks[index].fingerprint = context.effective.fingerprint(of: ["sinks", sinks[index].name])
            sinks[index].configuration.gracePeriodNanoseconds = grace
        }
        return RuntimeConfiguration(
            sources: sources, transforms: transforms, sinks: sinks, wrappedSourceIndex: wrappedSourceIndex, wrappedProgram: wrappedProgram, bufferMaxBytes: bufferMaxBytes,
            dataDirectory: dataDirectory, gracePeriodNanoseconds: grace, metricsAddress: metricsEnabled ? metricsAddress : nil,
            unhealthyAfterNanoseconds: unhealthyAfter, adminToken: adminToken, forwardedSignals: forwardedSignals, context: context
        )
    }

    /// The label names each source's section sets (the environment cannot add keys, so the
    /// files have them all).
    private static func sourceLabels(in root: ConfigNode) -> [String: Set<String>] {
        var labels: [String: Set<String>] = [:]
        for source in root["sources"]?.entries ?? [] {
            labels[source.key] = Set(source.value["labels"]?.entries?.map(\.key) ?? [])
        }
        return labels
    }

    private static func mergedDocument(files: [String], environment: [String: String], wrapping: Bool, context: ConfigContext) -> ConfigNode {
        var files = files
        if files.isEmpty, let named = environment["SLUICE_CONFIG"], !named.isEmpty { files = [named] }
        guard !files.isEmpty else {
            let text = wrapping ? builtInWrapDefault : builtInDefault
            guard case .success(let node) = YAMLLoader.parse(text, file: "<built-in default>") else {
                preconditionFailure("the built-in default configuration must parse")
            }
            return node
        }
        var root = ConfigNode.emptyMap
        for file in files {
            switch YAMLLoader.load(file: file) {
            case .success(let node): root = root.merged(with: node)
            case .failure(let issue): context.report(issue)
            }
        }
        if !wrapping, context.issues.isEmpty, root["sources"]?.entries?.isEmpty ?? true {
            // Pipe mode with sinks only: the app's output on stdin is the source `app`, as in
            // wrap mode, so one file serves both (`inputs: [app]` means the app either way).
            context.notice("no source is declared: stdin is read as the source \"\(wrappedSourceName)\" (type: stdin, format: auto)")
            root = root.merged(with: .map([("sources", .map([(wrappedSourceName, .map([("type", .scalar("stdin", .builtIn))], .builtIn))], .builtIn))], .builtIn))
        }
        return root
    }

    private static func readSources(_ reader: ConfigReader, registry: ComponentRegistry, build: BuildContext, skipping wrapped: String?) -> [PlannedSource] {
        let factories = registry.sources
        let sections = reader.namedSections("sources").filter { $0.name != wrapped }
        if sections.isEmpty && wrapped == nil {
            reader.reportInvalid("sources", "at least one source is required")
        }
        return sections.compactMap { name, section in
            defer { section.rejectUnknownKeys() }
            guard let type = componentType(section, known: Array(factories.keys)), let factory = factories[type] else { return nil }
            return PlannedSource(name: name, type: type, build: factory(name, section, build))
        }
    }

    private static func readSinks(_ reader: ConfigReader, inputNames: [String], registry: ComponentRegistry, build: BuildContext) -> [PlannedSink] {
        let factories = registry.sinks
        var planned: [PlannedSink] = []
        let sections = reader.namedSections("sinks")
        for (name, section) in sections {
            defer { section.rejectUnknownKeys() }
            let enabled = section.bool("enabled", default: true)
            let settings = enabled ? section : section.lenient()
            guard let type = componentType(settings, known: Array(factories.keys)), let factory = factories[type] else { continue }
            let inputs = settings.stringList("inputs")
            var inputIndices: Set<Int>?
            if let inputs {
                inputIndices = []
                for input in inputs {
                    if let index = inputNames.firstIndex(of: input) {
                        inputIndices?.insert(index)
                    } else {
                        settings.reportInvalid("inputs", unknownInput(input, among: inputNames))
                    }
                }
            }
            let whenFull = settings.choice("when_full", default: WhenFull.block)
            let diskBuffer = readBuffer(settings, whenFull: whenFull)
            let filter = settings.expression("where")
            let blueprint = factory(name, settings, build)
            guard enabled else { continue }
            planned.append(PlannedSink(
                name: name, type: type,
                configuration: SinkRunner.Configuration(name: name, inputs: inputIndices, whenFull: whenFull, filter: filter),
                build: blueprint.build, firingRules: blueprint.firingRules, diskBuffer: diskBuffer
            ))
        }
        if planned.isEmpty {
            reader.reportInvalid("sinks", "no sink is enabled; configure one (a `blackhole` sink discards events on purpose)")
        }
        return planned
    }

    /// The `type` key, checked against the known types.
    private static func componentType(_ section: ConfigReader, known: [String]) -> String? {
        let type = section.requiredString("type", hint: "one of \(known.sorted().joined(separator: ", "))")
        guard !type.isEmpty else { return nil }
        guard known.contains(type) else {
            var message = "unknown type \"\(type)\" (known: \(known.sorted().joined(separator: ", ")))"
            if let suggestion = NearestKey.suggestion(for: type, among: known) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            section.reportInvalid("type", message)
            return nil
        }
        return type
    }
}
