import SluiceCore

/// One event as sinks see it: a JSON object (one line of NDJSON), with the time and level
/// Sluice found in it. A view into a batch: valid during the `write` call that gave it.
public struct Event {
    let record: EventRecord

    /// The event's JSON object as text.
    public var json: String { String(decoding: record.json, as: UTF8.self) }

    /// The JSON object's bytes, without copying them.
    public func withJSONBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(record.json)
    }

    /// `@timestamp`, in milliseconds since the Unix epoch.
    public var timestampMilliseconds: Int64 { record.timestampMilliseconds }

    /// The level Sluice recognised (`level`, `lvl`, `severity`, ... in any common spelling).
    public var level: LogLevel? { LogLevel(record.level) }

    /// A field by dotted path (`ctx.region`): a string's content, or any other value's JSON text
    /// (`42`, `true`, `{"a":1}`). Nil when the field is absent.
    public subscript(path: String) -> String? {
        let keys = path.split(separator: ".").map { Array($0.utf8) }
        guard let range = JSONLookup.value(atPath: keys, inObject: record.json) else { return nil }
        return JSONLookup.text(of: UnsafeRawBufferPointer(rebasing: record.json[range]))
    }
}

/// Event levels, in order of severity.
public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    init?(_ level: EventLevel) {
        switch level {
        case .unknown: return nil
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .warn: self = .warn
        case .error: self = .error
        case .fatal: self = .fatal
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A batch of events from one source, in the order they were read.
public struct Events: RandomAccessCollection {
    let batch: EventBatch
    /// The name of the source that read them.
    public let sourceName: String

    public var startIndex: Int { 0 }
    public var endIndex: Int { batch.count }

    public subscript(position: Int) -> Event {
        Event(record: batch[position])
    }

    /// All the events as NDJSON (each JSON object followed by a newline), without copying: what
    /// a sink that writes text writes as it is.
    public func withNDJSONBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(batch.bytes)
    }
}
