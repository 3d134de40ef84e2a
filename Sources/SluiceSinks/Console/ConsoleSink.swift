public import SluiceComponentConfig
public import SluiceCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes events as NDJSON to standard output, one `write` per batch of events.
///
/// A closed stdout (`sluice | head`) is permanent: the sink says so once, counts what reached
/// the pipe before as delivered and the rest as dropped (`output_closed`) rather than stopping
/// Sluice. Other write errors (a full disk under
/// a redirected stdout) are retried by the sink's `when_full` policy.
public final class ConsoleSink: Sink {
    private let descriptor: Int32

    public init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
    }

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        var written = 0
        do {
            try OutputDescriptor.writeAll(batch.bytes, to: descriptor, name: "stdout", written: &written)
        } catch let error as SinkError where error.isPermanent && written > 0 {
            // The lines that went out before stdout closed were delivered (one event per line).
            let events = UnsafeRawBufferPointer(rebasing: batch.bytes[..<written]).reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            throw error.afterDelivering(events: events, bytes: written)
        }
    }
}

extension ConsoleSink {
    /// `type: console`.
    public static let registration = SinkRegistration(type: "console") { _, _, _ in SinkBlueprint { .delivering(ConsoleSink()) } }
}
