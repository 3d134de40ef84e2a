public import SluiceConfig
public import SluiceCore

/// A source built from these settings (every built-in source): `sluice test` reads them to
/// encode sample lines exactly as the source would.
public protocol SettingsCarrying {
    var settings: SourceSettings { get }
}

/// Keys every source has, whatever its type.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `format` | `auto`, `json`, `logfmt`, `syslog`, `plain` | `auto` | how lines become events |
/// | `max_line_bytes` | size | `1MiB` | longer lines are cut into marked parts |
/// | `labels` | map of strings | none | static fields added to every event (never over app fields) |
/// | `multiline` | map | none | joining lines into one event (see `MultilineSettings(reading:)`) |
public struct SourceSettings: Sendable {
    public var format: InputFormat
    public var maxLineBytes: Int
    public var labels: [(key: String, value: String)]
    public var multiline: MultilineSettings?

    public static let defaultMaxLineBytes = 1 << 20

    public init(
        format: InputFormat = .auto, maxLineBytes: Int = defaultMaxLineBytes,
        labels: [(key: String, value: String)] = [], multiline: MultilineSettings? = nil
    ) {
        self.format = format
        self.maxLineBytes = maxLineBytes
        self.labels = labels
        self.multiline = multiline
    }

    /// - Parameter defaultMultiline: the joining rule when `multiline` is absent (`auto` for stdin
    ///   and a wrapped program); nil: no joining unless configured.
    public init(reading reader: ConfigReader, defaultFormat: InputFormat = .auto, defaultMultiline: MultilinePreset? = nil) {
        self.init(reading: reader, format: reader.choice("format", default: defaultFormat), defaultMultiline: defaultMultiline)
    }

    /// The keys but `format`, which the source read itself (a `file` source has more formats).
    public init(reading reader: ConfigReader, format: InputFormat, defaultMultiline: MultilinePreset? = nil) {
        self.format = format
        maxLineBytes = reader.size("max_line_bytes", default: Self.defaultMaxLineBytes, range: 16...(1 << 30))
        labels = reader.stringMap("labels")
        if let defaultMultiline {
            multiline = MultilineSettings(reading: reader.section("multiline"), maxLineBytes: maxLineBytes, defaultPreset: defaultMultiline)
        } else {
            multiline = reader.optionalSection("multiline").flatMap { MultilineSettings(reading: $0, maxLineBytes: maxLineBytes, defaultPreset: nil) }
        }
    }

    /// The metadata for one stream of the source named `name`.
    public func metadata(sourceName: String, stream: String?, host: String) -> EventMetadata {
        EventMetadata(host: host, sourceName: sourceName, stream: stream, labels: labels)
    }
}

extension MultilineSettings {
    /// The `preset` key's values: the presets, and `none` for no joining at all.
    private enum PresetChoice: String, CaseIterable {
        case auto, java, python, go, node, ruby, dotnet, none
    }

    /// `multiline:` of a source. At most one of `preset`, `start` and `continue` (none: the
    /// source's default rule, `auto` for stdin and a wrapped program); nil for `preset: none`.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `preset` | `auto`, `java`, `python`, `go`, `node`, `ruby`, `dotnet`, `none` | `auto` for stdin and wrap mode | built-in rule for that runtime's traces; `auto` joins all of them; `none` joins nothing |
    /// | `start` | regex (PCRE) | | a matching line starts a new event |
    /// | `continue` | regex (PCRE) | | a matching line continues the current event |
    /// | `timeout` | duration | `1s` (`auto`: `500ms`) | an open group is emitted this long after its first line |
    /// | `max_lines` | integer | `500` | a group never grows beyond this many lines |
    /// | `max_bytes` | size | the source's `max_line_bytes` | nor beyond this many bytes |
    init?(reading reader: ConfigReader, maxLineBytes: Int, defaultPreset: MultilinePreset?) {
        let start = reader.optionalString("start")
        let continuation = reader.optionalString("continue")
        let presetGiven = reader.contains("preset") || (start == nil && continuation == nil && defaultPreset != nil)
        let defaultChoice = defaultPreset.flatMap { PresetChoice(rawValue: $0.rawValue) } ?? .java
        let choice = presetGiven ? reader.choice("preset", default: defaultChoice) : nil
        let preset = choice.flatMap { MultilinePreset(rawValue: $0.rawValue) }
        let timeout = reader.duration("timeout", default: preset == .auto ? 500_000_000 : 1_000_000_000, minimum: 1_000_000)
        let maxLines = reader.int("max_lines", default: 500, range: 2...100_000)
        let maxBytes = reader.size("max_bytes", default: maxLineBytes, range: 16...(1 << 30))
        reader.rejectUnknownKeys()
        var rule = Rule.preset(.java)
        switch (choice, start, continuation) {
        case (.none?, nil, nil):
            return nil
        case (_?, nil, nil):
            rule = .preset(preset ?? .java)
        case (nil, let pattern?, nil):
            rule = Self.compile(pattern, key: "start", reader: reader).map(Rule.start) ?? rule
        case (nil, nil, let pattern?):
            rule = Self.compile(pattern, key: "continue", reader: reader).map(Rule.continuation) ?? rule
        default:
            reader.reportInvalid("preset", "give exactly one of preset, start and continue")
        }
        self.init(rule: rule, timeoutNanoseconds: timeout, maxLines: maxLines, maxBytes: maxBytes)
    }

    private static func compile(_ source: String, key: String, reader: ConfigReader) -> Pattern? {
        do {
            let pattern = try Pattern(source)
            let consequence = "the line is not joined (counted in sluice_regex_limit_hits_total)"
            if let warning = Pattern.backtrackingWarning(source, key: (reader.path + [key]).joined(separator: "."), consequence: consequence) {
                reader.context.notice(warning)
            }
            return pattern
        } catch {
            reader.reportInvalid(key, error.description)
            return nil
        }
    }
}
