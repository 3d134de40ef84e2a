public import SluiceCore

/// Reads Sluice's standard input: the pipe of `app 2>&1 | sluice`.
///
/// Reading continues through SIGTERM until the writer closes the pipe (an app that is also
/// stopping flushes its last lines first), or until the grace period ends.
public final class StdinSource: Source, SettingsCarrying {
    public let name: String
    public let settings: SourceSettings
    public let host: String

    public init(name: String, settings: SourceSettings, host: String) {
        self.name = name
        self.settings = settings
        self.host = host
    }

    public func run(_ context: SourceContext) throws {
        let descriptor: Int32 = 0
        DescriptorReader.enlargePipeBuffer(descriptor)
        context.markReady()
        let publisher = LineStreamPublisher(
            context: context,
            format: settings.format,
            metadata: settings.metadata(sourceName: name, stream: nil, host: host),
            maxLineBytes: settings.maxLineBytes, multiline: settings.multiline
        )
        _ = try DescriptorReader.readToEnd(descriptor, into: publisher, shutdown: context.shutdown, sourceName: name)
    }
}
