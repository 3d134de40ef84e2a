public import SluiceCore

/// A source that publishes fixed chunks of bytes (as if read from a pipe), then ends.
public final class ScriptedSource: Source, Sendable {
    public let name: String
    private let chunks: [[UInt8]]
    private let format: InputFormat
    private let maxLineBytes: Int

    public init(name: String, chunks: [String], format: InputFormat = .auto, maxLineBytes: Int = 1 << 20) {
        self.name = name
        self.chunks = chunks.map { Array($0.utf8) }
        self.format = format
        self.maxLineBytes = maxLineBytes
    }

    /// One line per chunk, each with its newline.
    public convenience init(name: String, lines: [String], format: InputFormat = .auto) {
        self.init(name: name, chunks: lines.map { $0 + "\n" }, format: format)
    }

    public func run(_ context: SourceContext) throws {
        let publisher = LineStreamPublisher(
            context: context, format: format,
            metadata: EventMetadata(host: "test-host", sourceName: name),
            maxLineBytes: maxLineBytes
        )
        for chunk in chunks {
            let published = chunk.withUnsafeBytes { publisher.append($0) }
            if !published { return }
        }
        _ = publisher.finish()
    }
}
