public import SluiceConfig
public import SluiceCore

/// Keys every source has, whatever its type.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `format` | `auto`, `json`, `plain` | `auto` | how lines become events |
/// | `max_line_bytes` | size | `1MiB` | longer lines are cut into marked parts |
/// | `labels` | map of strings | none | static fields added to every event (never over app fields) |
public struct SourceSettings: Sendable {
    public var format: InputFormat
    public var maxLineBytes: Int
    public var labels: [(key: String, value: String)]

    public static let defaultMaxLineBytes = 1 << 20

    public init(format: InputFormat = .auto, maxLineBytes: Int = defaultMaxLineBytes, labels: [(key: String, value: String)] = []) {
        self.format = format
        self.maxLineBytes = maxLineBytes
        self.labels = labels
    }

    public init(reading reader: ConfigReader) {
        format = reader.choice("format", default: InputFormat.auto)
        maxLineBytes = reader.size("max_line_bytes", default: Self.defaultMaxLineBytes, range: 16...(1 << 30))
        labels = reader.stringMap("labels")
    }

    /// The metadata for one stream of the source named `name`.
    public func metadata(sourceName: String, stream: String?, host: String) -> EventMetadata {
        EventMetadata(host: host, sourceName: sourceName, stream: stream, labels: labels)
    }
}

