/// A normalised severity, ordered trace < debug < info < warn < error < fatal.
public enum EventLevel: UInt8, Sendable, Comparable, CaseIterable {
    case unknown = 0
    case trace, debug, info, warn, error, fatal

    public static func < (lhs: EventLevel, rhs: EventLevel) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The name written into events.
    public var name: StaticString {
        switch self {
        case .unknown: "unknown"
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        case .fatal: "fatal"
        }
    }

    public init?(name: String) {
        var name = name
        let level = name.withUTF8 { EventLevel.parse(UnsafeRawBufferPointer($0)) }
        guard level != .unknown else { return nil }
        self = level
    }

    /// Recognises the common spellings, case-insensitively: `WARNING`, `err`, `crit`, `notice`,
    /// `emerg`, `panic`, `dbg` and so on. Unknown words give `.unknown`.
    public static func parse(_ raw: UnsafeRawBufferPointer) -> EventLevel {
        guard raw.count >= 1, raw.count <= 13 else { return .unknown }
        // Lower-case into a register-sized key; every known word fits in 13 bytes.
        var key: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &key) { buffer in
            for index in 0..<raw.count {
                let byte = raw[index]
                buffer[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
        }
        return spellings[Spelling(key.0, key.1)] ?? .unknown
    }

    /// Bunyan and pino numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    public static func fromBunyan(_ value: Int) -> EventLevel {
        switch value {
        case ...14: .trace
        case 15...24: .debug
        case 25...34: .info
        case 35...44: .warn
        case 45...54: .error
        default: .fatal
        }
    }

    /// Syslog severities: 0 emergency ... 7 debug.
    public static func fromSyslogSeverity(_ value: Int) -> EventLevel {
        switch value {
        case ...2: .fatal
        case 3: .error
        case 4: .warn
        case 5, 6: .info
        default: .debug
        }
    }

    private struct Spelling: Hashable {
        let low: UInt64
        let high: UInt64
        init(_ low: UInt64, _ high: UInt64) {
            self.low = low
            self.high = high
        }
    }

    private static let spellings: [Spelling: EventLevel] = {
        let words: [(String, EventLevel)] = [
            ("trace", .trace), ("trc", .trace), ("finest", .trace), ("finer", .trace), ("verbose", .trace),
            ("debug", .debug), ("dbg", .debug), ("fine", .debug),
            ("info", .info), ("inf", .info), ("information", .info), ("informational", .info),
            ("notice", .info), ("config", .info),
            ("warn", .warn), ("warning", .warn), ("wrn", .warn),
            ("error", .error), ("err", .error), ("severe", .error),
            ("fatal", .fatal), ("critical", .fatal), ("crit", .fatal), ("alert", .fatal),
            ("emerg", .fatal), ("emergency", .fatal), ("panic", .fatal), ("ftl", .fatal),
        ]
        var table: [Spelling: EventLevel] = [:]
        for (word, level) in words {
            var key: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &key) { buffer in
                for (index, byte) in word.utf8.enumerated() { buffer[index] = byte }
            }
            table[Spelling(key.0, key.1)] = level
        }
        return table
    }()
}
