public import SluiceComponentConfig
public import SluiceCore

/// Discards events; its counters (events and bytes) are what it is for: benchmarks, and
/// measuring a source or a filter on its own.
public final class BlackholeSink: Sink {
    public init() {}

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {}
}

extension BlackholeSink {
    /// `type: blackhole`.
    public static let registration = SinkRegistration(type: "blackhole") { _, _, _ in SinkBlueprint { .delivering(BlackholeSink()) } }
}
