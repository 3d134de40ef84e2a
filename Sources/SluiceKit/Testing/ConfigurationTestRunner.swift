import SluiceCore
import SluiceRing
import SluiceSinks
import SluiceSources
import SluiceTransforms

/// Runs `sluice test` cases against a loaded configuration, in process and without I/O: lines go
/// through the source's own framing, multiline joining and encoding; each sink's `inputs` and
/// `where` decide what reaches it; alert rules run on a clock that does not move.
struct ConfigurationTestRunner {
    let configuration: RuntimeConfiguration
    private let sources: [(name: String, settings: SourceSettings)]

    init(configuration: RuntimeConfiguration) throws {
        self.configuration = configuration
        sources = try configuration.sources.map { planned in
            let settings = (try planned.build() as? any SettingsCarrying)?.settings ?? SourceSettings()
            return (planned.name, settings)
        }
    }

    /// The problems of one case (empty when it passes).
    func run(_ test: ConfigurationTest) -> [String] {
        guard let sourceIndex = sourceIndex(for: test.source) else {
            let names = sources.map(\.name).joined(separator: ", ")
            return [test.source.map { "no source is named \"\($0)\" (sources: \(names))" } ?? "name the source: there are several (\(names))"]
        }
        let batch = encode(test.lines, source: sourceIndex)
        var problems: [String] = []
        if let name = test.transform {
            guard let target = configuration.transforms.firstIndex(where: { $0.name == name }) else {
                return ["no transform is named \"\(name)\""]
            }
            guard let traced = trace(batch, to: target) else {
                return ["transform \"\(name)\" does not read source \"\(sources[sourceIndex].name)\""]
            }
            if let expected = test.events { problems += checkTraced(expected, traced) }
        } else if let expected = test.events {
            problems += checkEvents(expected, batch)
        }
        if let expected = test.sinks { problems += checkSinks(expected, batch) }
        if let expected = test.alerts { problems += checkAlerts(expected, batch) }
        return problems
    }

    private func sourceIndex(for name: String?) -> Int? {
        guard let name else { return sources.count == 1 ? 0 : nil }
        return sources.firstIndex { $0.name == name }
    }

    /// The events the source would publish for these lines, in one batch.
    func encode(_ lines: [String], source index: Int) -> EventBatch {
        let ring = EventRing<EventBatch>(capacity: 1024, consumerGating: [true])
        let context = SourceContext(sourceIndex: index, counters: SourceCounters(name: sources[index].name), shutdown: ShutdownSignal(), ring: ring)
        let settings = sources[index].settings
        let publisher = LineStreamPublisher(
            context: context, format: settings.format,
            metadata: settings.metadata(sourceName: sources[index].name, stream: nil, host: HostName.current),
            maxLineBytes: settings.maxLineBytes, multiline: settings.multiline
        )
        for line in lines {
            var text = line + "\n"
            _ = text.withUTF8 { publisher.append(UnsafeRawBufferPointer($0)) }
        }
        _ = publisher.finish()
        ring.close()
        var builder = EventBatchBuilder()
        let consumer = ring.consumers[0]
        while case .element(let batch, let sequence, _) = ring.poll(consumer) {
            for position in 0..<batch.count {
                let record = batch[position]
                builder.ndjson.append(record.json)
                builder.ndjson.append(0x0A)
                builder.endEvent(level: record.level, timestampMilliseconds: record.timestampMilliseconds)
            }
            ring.commit(consumer, sequence: sequence)
        }
        return EventBatch(sourceIndex: index, builder: builder)
    }

    private func checkEvents(_ expected: [[(path: String, value: String)]], _ batch: EventBatch) -> [String] {
        var problems: [String] = []
        if expected.count != batch.count {
            problems.append("expected \(expected.count) events, got \(batch.count)")
        }
        for (position, fields) in expected.enumerated() where position < batch.count {
            let paths = fields.map { FieldPath($0.path.split(separator: ".").map(String.init)) }
            let matcher = EventMatcher([], extraFields: paths)
            matcher.load(batch[position])
            for ((path, wanted), fieldPath) in zip(fields, paths) {
                let actual = matcher.rawValue(of: fieldPath).map(JSONLookup.text(of:))
                if actual != wanted {
                    problems.append("event \(position): \(path): expected \"\(wanted)\", got \(actual.map { "\"\($0)\"" } ?? "no such field")")
                }
            }
        }
        return problems
    }

    private func checkSinks(_ expected: [(name: String, events: [Int])], _ batch: EventBatch) -> [String] {
        var problems: [String] = []
        for (name, wanted) in expected {
            guard let sink = configuration.sinks.first(where: { $0.name == name }) else {
                problems.append("no enabled sink is named \"\(name)\"")
                continue
            }
            var reached: Set<Int> = []
            let filter = sink.configuration.filter.map { EventMatcher([$0]) }
            for input in sink.configuration.inputs ?? [batch.sourceIndex] {
                let events: [(position: Int, json: String)]
                if input == batch.sourceIndex {
                    events = (0..<batch.count).map { ($0, String(decoding: batch[$0].json, as: UTF8.self)) }
                } else if input >= sources.count, let traced = trace(batch, to: input - sources.count) {
                    events = traced.enumerated().compactMap { position, outcome in
                        if case .kept(let json) = outcome { return (position, json) }
                        return nil
                    }
                } else {
                    continue
                }
                for (position, json) in events {
                    guard let filter else {
                        reached.insert(position)
                        continue
                    }
                    var text = json
                    let matches = text.withUTF8 { bytes in
                        filter.load(EventRecord(json: UnsafeRawBufferPointer(bytes), timestampMilliseconds: batch[position].timestampMilliseconds, level: batch[position].level))
                        return filter.matches(0)
                    }
                    if matches { reached.insert(position) }
                }
            }
            let reachedInOrder = reached.sorted()
            if reachedInOrder != wanted.sorted() {
                problems.append("sink \(name): expected events \(wanted.sorted()), got \(reachedInOrder)")
            }
        }
        return problems
    }

    private func checkAlerts(_ expected: [String], _ batch: EventBatch) -> [String] {
        var fired: [String] = []
        for sink in configuration.sinks {
            guard let firingRules = sink.firingRules, sink.configuration.inputs?.contains(batch.sourceIndex) ?? true else { continue }
            let selected = sink.configuration.filter.map { filter -> EventBatch in
                let matcher = EventMatcher([filter])
                return batch.keeping((0..<batch.count).filter { position in
                    matcher.load(batch[position])
                    return matcher.matches(0)
                })
            } ?? batch
            fired += firingRules(selected)
        }
        guard fired.sorted() != expected.sorted() else { return [] }
        return ["alerts: expected \(expected.sorted()) to fire, got \(fired.sorted())"]
    }

    /// What one event became on its way through transforms.
    enum Traced {
        case kept(String)
        /// Removed by step `step` (1-based) of transform `transform`.
        case dropped(transform: String, step: Int, kind: String)
    }

    /// Each event of `batch` after the transforms from its source to transform `target`, with
    /// fresh state (sample, throttle and dedupe start empty); nil when the source does not
    /// feed `target`.
    func trace(_ batch: EventBatch, to target: Int) -> [Traced]? {
        guard let path = path(from: batch.sourceIndex, to: target) else { return nil }
        let runners = path.map { TransformRunner(TransformShared(configuration.transforms[$0])) }
        return (0..<batch.count).map { position in
            var json = String(decoding: batch[position].json, as: UTF8.self)
            for (runner, transform) in zip(runners, path) {
                let record = batch[position]
                let outcome = json.withUTF8 { bytes in
                    switch runner.process(EventRecord(json: UnsafeRawBufferPointer(bytes), timestampMilliseconds: record.timestampMilliseconds, level: record.level), now: 1_000_000_000) {
                    case .kept(let output): Traced.kept(String(decoding: output, as: UTF8.self))
                    case .dropped(let step): Traced.dropped(transform: configuration.transforms[transform].name, step: step + 1, kind: configuration.transforms[transform].steps[step].kind)
                    }
                }
                guard case .kept(let output) = outcome else { return outcome }
                json = output
            }
            return .kept(json)
        }
    }

    /// The transforms from source `source` to transform `target`, in order.
    private func path(from source: Int, to target: Int) -> [Int]? {
        for input in configuration.transforms[target].inputs {
            switch input {
            case .source(let index) where index == source: return [target]
            case .transform(let other): if let before = path(from: source, to: other) { return before + [target] }
            default: continue
            }
        }
        return nil
    }

    private func checkTraced(_ expected: [[(path: String, value: String)]], _ traced: [Traced]) -> [String] {
        var problems: [String] = []
        if expected.count != traced.count { problems.append("expected \(expected.count) events, got \(traced.count)") }
        for (position, (fields, outcome)) in zip(expected, traced).enumerated() {
            let wantedDrop = fields.first { $0.path == "dropped" }?.value
            switch outcome {
            case .dropped(let transform, let step, let kind):
                if wantedDrop != "\(transform).\(step)" {
                    problems.append("event \(position): dropped by step \(step) (\(kind)) of \(transform)" + (wantedDrop.map { ", expected dropped by \($0)" } ?? ""))
                }
            case .kept(var json):
                if let wantedDrop {
                    problems.append("event \(position): expected dropped by \(wantedDrop), got \(json)")
                    continue
                }
                let paths = fields.map { FieldPath($0.path.split(separator: ".").map(String.init)) }
                let matcher = EventMatcher([], extraFields: paths)
                json.withUTF8 { bytes in
                    matcher.load(EventRecord(json: UnsafeRawBufferPointer(bytes), timestampMilliseconds: 0, level: .unknown))
                    for ((path, wanted), fieldPath) in zip(fields, paths) {
                        let actual = matcher.rawValue(of: fieldPath).map(JSONLookup.text(of:))
                        if actual != wanted {
                            problems.append("event \(position): \(path): expected \"\(wanted)\", got \(actual.map { "\"\($0)\"" } ?? "no such field")")
                        }
                    }
                }
            }
        }
        return problems
    }
}
