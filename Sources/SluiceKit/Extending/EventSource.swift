import SluiceCore
import SluiceSources

/// A source of events, for a source type of your own.
///
/// `run` is called once, on a thread of its own, and returns when the input ends or
/// `output.isStopping` says to stop. Lines go through the source's configured `format`
/// (`auto`, `json`, `logfmt`, `syslog`, `plain`), `labels`, `max_line_bytes` and `multiline`
/// exactly as for the built-in sources, and events carry the source's name as `source`.
public protocol EventSource: AnyObject, Sendable {
    func run(_ output: SourceOutput) throws
}

/// Where an `EventSource` sends what it reads, and how it learns to stop.
///
/// Each `emit` call publishes one batch (holding the source back while the ring is full):
/// pass many lines at once where you have them.
public final class SourceOutput {
    private let context: SourceContext
    private let publisher: LineStreamPublisher

    init(context: SourceContext, settings: SourceSettings, sourceName: String, host: String) {
        self.context = context
        publisher = LineStreamPublisher(
            context: context, format: settings.format,
            metadata: settings.metadata(sourceName: sourceName, stream: nil, host: host),
            maxLineBytes: settings.maxLineBytes, multiline: settings.multiline
        )
    }

    /// Says the source is taking input: `/readyz` waits for every source to say so.
    public func markReady() {
        context.markReady()
    }

    /// Shutdown has begun: stop accepting new input, finish what is under way.
    public var isDraining: Bool { context.shutdown.isDraining }

    /// The grace period is over: return from `run` now.
    public var isStopping: Bool { context.shutdown.isStopping }

    /// Publishes lines (without their newlines). False once Sluice is stopping: return then.
    @discardableResult
    public func emit(lines: [String]) -> Bool {
        var text = lines.joined(separator: "\n")
        text.append("\n")
        return emit(bytes: Array(text.utf8))
    }

    /// Publishes one line (without its newline). False once Sluice is stopping.
    @discardableResult
    public func emit(_ line: String) -> Bool {
        emit(lines: [line])
    }

    /// Publishes a chunk of a byte stream: complete lines become events, a partial last line
    /// waits for the next chunk (or `finish`). False once Sluice is stopping.
    @discardableResult
    public func emit(bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { publisher.append($0) }
    }

    /// Publishes `bytes` as exactly one event, newlines and all (a datagram, a record).
    @discardableResult
    public func emit(message bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { publisher.publishMessage($0) }
    }

    /// Waits up to `duration`, returning early (false) when Sluice is stopping.
    public func sleep(for duration: Duration) -> Bool {
        let (seconds, attoseconds) = duration.components
        return context.shutdown.sleep(nanoseconds: UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000))
    }

    /// Publishes a last partial line and any open multiline group (called after `run` returns).
    func finish() {
        _ = publisher.finish()
    }
}

/// Runs an `EventSource` as one of Sluice's sources, with the keys every source has.
final class ExtensionSource: Source, SettingsCarrying {
    let name: String
    let settings: SourceSettings
    private let host: String
    private let source: any EventSource

    init(name: String, source: any EventSource, settings: SourceSettings, host: String) {
        self.name = name
        self.source = source
        self.settings = settings
        self.host = host
    }

    func run(_ context: SourceContext) throws {
        let output = SourceOutput(context: context, settings: settings, sourceName: name, host: host)
        defer { output.finish() }
        try source.run(output)
    }
}
