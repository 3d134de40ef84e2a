import SluiceComponentConfig
import SluiceConfig
import SluiceCore
import SluiceTransforms

extension RuntimeConfiguration {
    /// `transforms:` each named transform's `inputs` (sources or other transforms) and `steps`,
    /// a list of one-key maps run in order:
    ///
    /// | step | value | does |
    /// | --- | --- | --- |
    /// | `redact` | `{ patterns: [...], regex: '...', fields: [...], with: "[REDACTED]", secret_keys: [...] }` | replaces matches in string values (nested ones too) |
    /// | `remove` | list of field paths | removes fields (`a.b` reaches into objects) |
    /// | `rename` | map `from: to` | renames top-level fields |
    /// | `set` | map `key: value` | sets top-level string fields |
    /// | `parse_json` | field name | a field holding JSON text becomes that value |
    /// | `where` | expression | drops events that do not match (`filtered`) |
    /// | `sample` | `{ rate: N, where: '...', key: field }` | keeps 1 in N (`sampled`) |
    /// | `throttle` | `{ events_per_second, burst, key, max_keys: 10000 }` | a token bucket per key (`throttled`) |
    /// | `dedupe` | `{ fields: [...], window: 10s, max_keys: 100000 }` | drops repeats within the window (`duplicate`) |
    ///
    /// A transform that reads only sources whose events have a fixed set of fields (`format:
    /// plain` or `syslog`) may not name a field those events can never have: that is reported,
    /// as a filter or a key that could never match would be a silent mistake.
    static func readTransforms(_ reader: ConfigReader, sourceNames: [String], root: ConfigNode = .emptyMap) -> [TransformDefinition] {
        let sections = reader.namedSections("transforms")
        let names = sections.map(\.name)
        var definitions: [TransformDefinition] = []
        for (name, section) in sections {
            defer { section.rejectUnknownKeys() }
            if sourceNames.contains(name) { section.reportInvalid("inputs", "a transform cannot share its name with a source (\"\(name)\")") }
            var inputs: [TransformDefinition.Input] = []
            for input in section.stringList("inputs") ?? [] {
                if let index = sourceNames.firstIndex(of: input) {
                    inputs.append(.source(index))
                } else if let index = names.firstIndex(of: input) {
                    inputs.append(.transform(index))
                } else {
                    section.reportInvalid("inputs", unknownInput(input, among: sourceNames + names))
                }
            }
            if !section.contains("inputs") { section.reportInvalid("inputs", "is required: the sources or transforms this transform reads") }
            let stepReaders = section.list(ofMapsAt: "steps") ?? []
            let steps = stepReaders.compactMap(readStep)
            if !section.contains("steps") { section.reportInvalid("steps", "is required: a list such as [{ remove: [debug] }]") }
            if steps.count == stepReaders.count, let typed = typedFields(of: inputs, sourceNames: sourceNames, root: root) {
                checkFields(steps, readers: stepReaders, typed: typed)
            }
            let fingerprints = steps.count == stepReaders.count
                ? stepReaders.indices.map { reader.context.effective.contentFingerprint(of: ["transforms", name, "steps", "\($0)"]) } : []
            definitions.append(TransformDefinition(name: name, inputs: inputs, steps: steps, stepFingerprints: fingerprints))
        }
        if TransformStage.topologicalOrder(definitions).count < definitions.count {
            reader.section("transforms").reportInvalid(definitions.first?.name ?? "", "the transforms' inputs form a cycle; a transform cannot read its own output")
        }
        return definitions
    }

    /// The transforms as the pipeline runs them; nil when there are none. After a reload, the
    /// `running` stage's counters and unchanged steps' state carry over (see `TransformStage`).
    func transformStage(replacing running: TransformStage? = nil) -> TransformStage? {
        guard !transforms.isEmpty else { return nil }
        return TransformStage(definitions: transforms, sourceCount: sources.count, wanted: wantedInputs, replacing: running)
    }

    /// The sources and transforms some sink takes.
    var wantedInputs: Set<Int> {
        sinks.reduce(into: Set<Int>()) { $0.formUnion($1.configuration.inputs ?? Set(sources.indices)) }
    }

    /// The only top-level fields the inputs' events can have, and why; nil when an input's
    /// events can have any fields (JSON, logfmt, OTLP, another transform).
    private static func typedFields(of inputs: [TransformDefinition.Input], sourceNames: [String], root: ConfigNode) -> (names: Set<String>, reason: String)? {
        var names: Set<String> = ["host", "source", "stream", "@timestamp", "level", "message"]
        var reasons: [String] = []
        guard !inputs.isEmpty else { return nil }
        for input in inputs {
            guard case .source(let index) = input, index < sourceNames.count else { return nil }
            let source = root["sources"]?[sourceNames[index]]
            guard case .scalar(let format, _)? = source?["format"] else { return nil }
            switch format {
            case "plain": names.insert("@split")
            case "syslog": names.formUnion(["facility", "severity", "hostname", "appname", "procid", "msgid", "structured_data"])
            default: return nil
            }
            names.formUnion(source?["labels"]?.entries?.map(\.key) ?? [])
            reasons.append("source \"\(sourceNames[index])\" is read as \(format)")
        }
        return (names, reasons.joined(separator: ", "))
    }

    /// Reports each field a step names that the typed inputs' events can never have (fields a
    /// `set` or `rename` before it adds count as present).
    private static func checkFields(_ steps: [TransformStep], readers: [ConfigReader], typed: (names: Set<String>, reason: String)) {
        var present = typed.names
        for (step, reader) in zip(steps, readers) {
            let named: [String] = switch step {
            case .remove(let paths): paths.map { $0.components[0] }
            case .rename(let pairs): pairs.map(\.from)
            case .parseJSON(let field): [field]
            case .filter(let expression): expression.fields.map { $0.components[0] }
            case .sample(let settings): (settings.filter?.fields ?? []).map { $0.components[0] } + (settings.key.map { [$0.components[0]] } ?? [])
            case .throttle(let settings): settings.key.map { [$0.components[0]] } ?? []
            case .dedupe(let settings): settings.fields.map { $0.components[0] }
            case .redact(let settings): settings.fields ?? []
            case .set: []
            }
            for field in named where !present.contains(field) {
                reader.reportInvalid(step.kind, "field \"\(field)\" can never exist: \(typed.reason), whose events have only \(present.sorted().joined(separator: ", "))")
            }
            switch step {
            case .rename(let pairs): present.formUnion(pairs.map(\.to))
            case .set(let pairs): present.formUnion(pairs.map(\.key))
            default: break
            }
        }
    }

    /// "no source or transform is named ...", with the nearest name.
    static func unknownInput(_ input: String, among names: [String]) -> String {
        var message = "no source or transform is named \"\(input)\""
        if let suggestion = NearestKey.suggestion(for: input, among: names) { message += "; did you mean \"\(suggestion)\"?" }
        return message
    }

    private static let stepKinds = ["redact", "remove", "rename", "set", "parse_json", "where", "sample", "throttle", "dedupe"]

    private static func readStep(_ step: ConfigReader) -> TransformStep? {
        let keys = step.presentKeys
        guard keys.count == 1, let kind = keys.first else {
            step.reportInvalid(keys.first ?? "", "a step is a map with exactly one of \(stepKinds.joined(separator: ", ")); found \(keys)")
            return nil
        }
        switch kind {
        case "redact": return readRedaction(step.section("redact")).map(TransformStep.redact)
        case "remove": return .remove((step.stringList("remove") ?? []).map(fieldPath))
        case "rename": return .rename(step.stringMap("rename").map { (from: $0.key, to: $0.value) })
        case "set": return .set(step.stringMap("set"))
        case "parse_json": return .parseJSON(step.requiredString("parse_json", hint: "the field holding JSON text"))
        case "where": return step.expression("where").map(TransformStep.filter)
        case "sample":
            let settings = step.section("sample")
            defer { settings.rejectUnknownKeys() }
            return .sample(SampleSettings(
                rate: settings.int("rate", default: 10, range: 1...1_000_000_000), filter: settings.expression("where"),
                key: settings.optionalString("key").map(fieldPath)
            ))
        case "throttle":
            let settings = step.section("throttle")
            defer { settings.rejectUnknownKeys() }
            let rate = settings.int("events_per_second", default: 1000, range: 1...1_000_000_000)
            return .throttle(ThrottleSettings(
                eventsPerSecond: Double(rate), burst: Double(settings.int("burst", default: rate, range: 1...1_000_000_000)),
                key: settings.optionalString("key").map(fieldPath), maxKeys: settings.int("max_keys", default: 10_000, range: 1...10_000_000)
            ))
        case "dedupe":
            let settings = step.section("dedupe")
            defer { settings.rejectUnknownKeys() }
            let fields = (settings.stringList("fields") ?? []).map(fieldPath)
            if fields.isEmpty { settings.reportInvalid("fields", "is required: the fields that make two events the same, such as [message, host]") }
            return .dedupe(DedupeSettings(
                fields: fields, windowNanoseconds: settings.duration("window", default: 10_000_000_000, minimum: 1_000_000),
                maxKeys: settings.int("max_keys", default: 100_000, range: 1...10_000_000)
            ))
        default:
            var message = "unknown step; one of \(stepKinds.joined(separator: ", "))"
            if let suggestion = NearestKey.suggestion(for: kind, among: stepKinds) { message += "; did you mean \"\(suggestion)\"?" }
            step.reportInvalid(kind, message)
            return nil
        }
    }

    private static func readRedaction(_ reader: ConfigReader) -> RedactionSettings? {
        defer { reader.rejectUnknownKeys() }
        var patterns: [RedactionPattern] = []
        let known = RedactionPattern.allCases.map(\.rawValue)
        for name in reader.stringList("patterns") ?? [] {
            if let pattern = RedactionPattern(rawValue: name) {
                patterns.append(pattern)
            } else {
                var message = "no built-in pattern is named \"\(name)\"; one of \(known.joined(separator: ", "))"
                if let suggestion = NearestKey.suggestion(for: name, among: known) { message += "; did you mean \"\(suggestion)\"?" }
                reader.reportInvalid("patterns", message)
            }
        }
        var regexes: [Pattern] = []
        if let source = reader.optionalString("regex") {
            do {
                regexes.append(try Pattern(source))
                let consequence = "the whole value is replaced (redaction fails closed; counted in sluice_regex_limit_hits_total)"
                if let warning = Pattern.backtrackingWarning(source, key: (reader.path + ["regex"]).joined(separator: "."), consequence: consequence) {
                    reader.context.notice(warning)
                }
            } catch {
                reader.reportInvalid("regex", "\(error.reason) at column \(error.offset + 1) of '\(source)'")
            }
        }
        if patterns.isEmpty && regexes.isEmpty { reader.reportInvalid("patterns", "give built-in patterns, a regex, or both") }
        return RedactionSettings(
            patterns: patterns, regexes: regexes, replacement: reader.string("with", default: "[REDACTED]"),
            fields: reader.stringList("fields").flatMap { $0.contains("*") ? nil : $0 },
            secretKeys: reader.stringList("secret_keys") ?? RedactionSettings.defaultSecretKeys
        )
    }

    private static func fieldPath(_ text: String) -> FieldPath {
        FieldPath(text.split(separator: ".").map(String.init))
    }
}
