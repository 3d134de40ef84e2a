#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The top-level fields of a JSON event that Sluice reads: where the time and the level are,
/// and which metadata keys the application already wrote.
struct KnownFields {
    var atTimestamp: JSONObjectScanner.Field?
    /// `timestamp`, `time` and `ts`, in that order of preference.
    var timestampCandidates: (JSONObjectScanner.Field?, JSONObjectScanner.Field?, JSONObjectScanner.Field?) = (nil, nil, nil)
    var level: JSONObjectScanner.Field?
    /// `lvl`, `severity` and `log` (for `log.level`), in that order of preference.
    var lvl: JSONObjectScanner.Field?
    var severity: JSONObjectScanner.Field?
    var log: JSONObjectScanner.Field?
    var metadataCollisions: UInt64 = 0

    /// The known fields among `fields`. A static function, not an initializer: its arguments
    /// are borrowed, where an initializer's would be retained and released for every event.
    static func find(in fields: [JSONObjectScanner.Field], text: UnsafeRawBufferPointer, metadata: EncodedMetadata) -> KnownFields {
        var known = KnownFields()
        known.collect(fields, in: text, metadata: metadata)
        return known
    }

    private mutating func collect(_ fields: [JSONObjectScanner.Field], in text: UnsafeRawBufferPointer, metadata: EncodedMetadata) {
        let base = text.baseAddress!
        for field in fields {
            let keyLength = Int(field.keyEnd - field.keyStart)
            let key = base + Int(field.keyStart)
            func named(_ name: StaticString) -> Bool {
                memcmp(key, name.utf8Start, keyLength) == 0
            }
            switch keyLength {
            case 2 where named("ts"): if timestampCandidates.2 == nil { timestampCandidates.2 = field }
            case 3 where named("lvl"): if lvl == nil { lvl = field }
            case 3 where named("log"): if log == nil { log = field }
            case 4 where named("time"): if timestampCandidates.1 == nil { timestampCandidates.1 = field }
            case 5 where named("level"): if level == nil { level = field }
            case 8 where named("severity"): if severity == nil { severity = field }
            case 9 where named("timestamp"): if timestampCandidates.0 == nil { timestampCandidates.0 = field }
            case 10 where named("@timestamp"): if atTimestamp == nil { atTimestamp = field }
            default: break
            }
            metadataCollisions |= metadata.collisions(withKey: UnsafeRawBufferPointer(start: key, count: keyLength))
        }
    }

    /// Milliseconds from `@timestamp` when the event has one (nil when it does not parse), else
    /// from the first of `timestamp`, `time` and `ts` that parses.
    func timestamp(in text: UnsafeRawBufferPointer) -> Int64? {
        if let atTimestamp { return Self.parseTime(atTimestamp, in: text) }
        if let field = timestampCandidates.0, let milliseconds = Self.parseTime(field, in: text) { return milliseconds }
        if let field = timestampCandidates.1, let milliseconds = Self.parseTime(field, in: text) { return milliseconds }
        if let field = timestampCandidates.2, let milliseconds = Self.parseTime(field, in: text) { return milliseconds }
        return nil
    }

    /// The normalised level, and whether Sluice should add `level` (the event has none but names
    /// one under another key).
    func level(in text: UnsafeRawBufferPointer) -> (EventLevel, write: Bool) {
        if let level {
            return (Self.parseLevel(level, in: text, numbers: EventLevel.fromBunyan), false)
        }
        var found = EventLevel.unknown
        if let lvl {
            found = Self.parseLevel(lvl, in: text, numbers: EventLevel.fromBunyan)
        }
        if found == .unknown, let severity {
            found = Self.parseLevel(severity, in: text) { $0 <= 7 ? EventLevel.fromSyslogSeverity($0) : EventLevel.fromBunyan($0) }
        }
        if found == .unknown, let log, log.kind == .object {
            let object = UnsafeRawBufferPointer(rebasing: text[Int(log.valueStart)..<Int(log.valueEnd)])
            if let range = Self.levelKey.withUnsafeBytes({ JSONLookup.value(forKey: $0, inObject: object) }),
               let content = JSONLookup.stringContent(UnsafeRawBufferPointer(rebasing: object[range])) {
                found = EventLevel.parse(content)
            }
        }
        return (found, found != .unknown)
    }

    private static let levelKey = Array("level".utf8)

    private static func value(_ field: JSONObjectScanner.Field, in text: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: text[Int(field.valueStart)..<Int(field.valueEnd)])
    }

    private static func parseTime(_ field: JSONObjectScanner.Field, in text: UnsafeRawBufferPointer) -> Int64? {
        let raw = value(field, in: text)
        switch field.kind {
        case .string: return JSONLookup.stringContent(raw).flatMap(EventTimestamp.parse)
        case .bare: return EventTimestamp.parse(raw)
        case .number: return EventTimestamp.parseEpoch(raw)
        default: return nil
        }
    }

    private static func parseLevel(
        _ field: JSONObjectScanner.Field,
        in text: UnsafeRawBufferPointer,
        numbers: (Int) -> EventLevel
    ) -> EventLevel {
        let raw = value(field, in: text)
        switch field.kind {
        case .string:
            return JSONLookup.stringContent(raw).map(EventLevel.parse) ?? .unknown
        case .bare where raw.first.map({ !$0.isDigit }) ?? true:
            return EventLevel.parse(raw)
        case .number, .bare:
            var number = 0
            for byte in raw {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), number < 1_000_000 else { return .unknown }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return numbers(number)
        default:
            return .unknown
        }
    }
}
