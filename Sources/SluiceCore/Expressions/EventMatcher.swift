import CPCRE2

#if canImport(Glibc)
import Glibc
#endif

/// Evaluates a set of expressions against events, on one thread, reading the event's JSON bytes
/// directly.
///
/// The fields any expression reads are found in one pass over the event's top level, done only
/// when an expression first needs a field (a `level >= error` check alone never scans: the level
/// is in the batch's index). Nested paths are looked up inside the top-level value they start in.
///
/// Comparisons are forgiving where logs are: a number compares with a string that holds a number
/// (logfmt values are strings), a level name compares with any spelling of a level, and a
/// missing field is `null` (so `x != "a"` is true when there is no `x`, and ordering comparisons
/// are false).
public final class EventMatcher {
    public let expressions: [Expression]
    private let compiled: [Node]
    private let paths: [FieldPath]
    private let topKeys: [[UInt8]]
    private let pathTopKey: [Int]
    private let matchers: [PatternMatcher]
    private var record: EventRecord?
    private var topValues: [FieldValue?]
    private var scanned = false
    private var scratch = ByteWriter(capacity: 256)

    struct FieldValue {
        let range: Range<Int>
        let kind: JSONObjectScanner.ValueKind
    }

    indirect enum Node {
        case and(Node, Node), or(Node, Node), not(Node)
        case exists(slot: Int)
        case compare(slot: Int, ComparisonOperator, Literal, isLevel: Bool)
        case match(slot: Int, matcher: Int, required: [UInt8]?, negated: Bool, isLevel: Bool)
    }

    public init(_ expressions: [Expression]) {
        self.expressions = expressions
        var paths: [FieldPath] = []
        var matchers: [PatternMatcher] = []
        func slot(_ path: FieldPath) -> Int {
            if let index = paths.firstIndex(of: path) { return index }
            paths.append(path)
            return paths.count - 1
        }
        func compile(_ expression: Expression) -> Node {
            switch expression {
            case .and(let left, let right): return .and(compile(left), compile(right))
            case .or(let left, let right): return .or(compile(left), compile(right))
            case .not(let inner): return .not(compile(inner))
            case .exists(let path): return .exists(slot: slot(path))
            case .compare(let path, let op, let literal): return .compare(slot: slot(path), op, literal, isLevel: path.isLevel)
            case .match(let path, let regex, let negated):
                matchers.append(regex.pattern.matcher())
                return .match(slot: slot(path), matcher: matchers.count - 1, required: regex.requiredLiteral, negated: negated, isLevel: path.isLevel)
            }
        }
        compiled = expressions.map(compile)
        self.paths = paths
        self.matchers = matchers
        var keys: [[UInt8]] = []
        pathTopKey = paths.map { path in
            let key = Array(path.components[0].utf8)
            if let index = keys.firstIndex(of: key) { return index }
            keys.append(key)
            return keys.count - 1
        }
        topKeys = keys
        topValues = Array(repeating: nil, count: keys.count)
    }

    /// Makes `record` the event the next `matches` calls look at.
    public func load(_ record: EventRecord) {
        self.record = record
        scanned = false
    }

    /// Whether the loaded event satisfies expression `index`.
    public func matches(_ index: Int) -> Bool {
        guard let record else { return false }
        return evaluate(compiled[index], record)
    }

    /// The raw JSON text of `path` in the loaded event (for grouping and templates); nil when
    /// the event has no such field.
    public func rawValue(of path: FieldPath) -> UnsafeRawBufferPointer? {
        guard let record, let value = lookup(path, record) else { return nil }
        return UnsafeRawBufferPointer(rebasing: record.json[value.range])
    }

    private func evaluate(_ node: Node, _ record: EventRecord) -> Bool {
        switch node {
        case .and(let left, let right): return evaluate(left, record) && evaluate(right, record)
        case .or(let left, let right): return evaluate(left, record) || evaluate(right, record)
        case .not(let inner): return !evaluate(inner, record)
        case .exists(let slot):
            if paths[slot].isLevel && record.level != .unknown { return true }
            return value(slot, record).map { $0.kind != .null } ?? false
        case .compare(let slot, let op, let literal, let isLevel):
            if case .level(let wanted) = literal {
                return compareLevels(levelOf(slot, record, isLevel: isLevel), op, wanted)
            }
            return compare(value(slot, record), op, literal, record)
        case .match(let slot, let matcher, let required, let negated, let isLevel):
            guard let value = value(slot, record) else {
                // `level =~ /.../` on an event whose level Sluice derived: match its name.
                if isLevel, record.level != .unknown {
                    let name = record.level.name
                    let matched = matchers[matcher].matches(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
                    return matched != negated
                }
                return negated
            }
            let text = content(value, record)
            if let required, !Self.contains(text, required) { return negated }
            return matchers[matcher].matches(text) != negated
        }
    }

    // MARK: Field access

    private func value(_ slot: Int, _ record: EventRecord) -> FieldValue? {
        lookup(paths[slot], record, topKey: pathTopKey[slot])
    }

    private func lookup(_ path: FieldPath, _ record: EventRecord, topKey: Int? = nil) -> FieldValue? {
        if !scanned { scanTopLevel(record) }
        let keyIndex = topKey ?? topKeys.firstIndex(of: Array(path.components[0].utf8))
        guard let keyIndex, let top = topValues[keyIndex] else {
            return topKey == nil ? nestedLookup(path, in: 0..<record.json.count, record) : nil
        }
        guard path.components.count > 1 else { return top }
        guard top.kind == .object else { return nil }
        return nestedLookup(FieldPath(Array(path.components.dropFirst())), in: top.range, record)
    }

    private func nestedLookup(_ path: FieldPath, in range: Range<Int>, _ record: EventRecord) -> FieldValue? {
        let object = UnsafeRawBufferPointer(rebasing: record.json[range])
        guard let found = JSONLookup.value(atPath: path.components.map { Array($0.utf8) }, inObject: object) else { return nil }
        let absolute = (range.lowerBound + found.lowerBound)..<(range.lowerBound + found.upperBound)
        return FieldValue(range: absolute, kind: Self.kind(of: record.json[absolute.lowerBound]))
    }

    /// One pass over the event's top level, keeping the wanted keys' values.
    private func scanTopLevel(_ record: EventRecord) {
        scanned = true
        for index in topValues.indices { topValues[index] = nil }
        guard !topKeys.isEmpty, let base = record.json.baseAddress else { return }
        var cursor = Cursor(base: base.assumingMemoryBound(to: UInt8.self), end: record.json.count)
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: "{")) else { return }
        while true {
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: "\"") else { return }
            let keyStart = cursor.index + 1
            guard cursor.skipString() else { return }
            let keyLength = cursor.index - 1 - keyStart
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ":")) else { return }
            cursor.skipWhitespace()
            let valueStart = cursor.index
            JSONLookup.skipValidValue(&cursor)
            for (index, key) in topKeys.enumerated() where key.count == keyLength && topValues[index] == nil {
                if key.withUnsafeBytes({ memcmp(base + keyStart, $0.baseAddress!, keyLength) }) == 0 {
                    topValues[index] = FieldValue(range: valueStart..<cursor.index, kind: Self.kind(of: record.json[valueStart]))
                }
            }
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ",")) else { return }
        }
    }

    private static func kind(of first: UInt8) -> JSONObjectScanner.ValueKind {
        switch first {
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .boolean
        case UInt8(ascii: "n"): .null
        default: .number
        }
    }

    /// A string's content (escapes decoded when there are any), or any other value's JSON text.
    private func content(_ value: FieldValue, _ record: EventRecord) -> UnsafeRawBufferPointer {
        let raw = UnsafeRawBufferPointer(rebasing: record.json[value.range])
        guard value.kind == .string, raw.count >= 2 else { return raw }
        let inner = UnsafeRawBufferPointer(rebasing: raw[1..<(raw.count - 1)])
        guard inner.contains(UInt8(ascii: "\\")) else { return inner }
        scratch.removeAll()
        LogfmtParser.unescape(inner, into: &scratch)
        return scratch.bytes
    }

    // MARK: Comparisons

    private func levelOf(_ slot: Int, _ record: EventRecord, isLevel: Bool) -> EventLevel {
        if isLevel, record.level != .unknown { return record.level }
        guard let value = value(slot, record) else { return .unknown }
        let text = content(value, record)
        if value.kind == .number, let number = Self.number(text) { return EventLevel.fromBunyan(Int(number)) }
        return EventLevel.parse(text)
    }

    private func compareLevels(_ level: EventLevel, _ op: ComparisonOperator, _ wanted: EventLevel) -> Bool {
        guard level != .unknown else { return op == .notEqual }
        return Self.apply(op, level.rawValue < wanted.rawValue ? -1 : level == wanted ? 0 : 1)
    }

    private func compare(_ value: FieldValue?, _ op: ComparisonOperator, _ literal: Literal, _ record: EventRecord) -> Bool {
        guard let value, value.kind != .null else {
            switch (literal, op) {
            case (.null, .equal): return true
            case (.null, .notEqual): return false
            case (_, .notEqual): return true
            default: return false
            }
        }
        let text = content(value, record)
        let order: Int?
        switch literal {
        case .null:
            order = nil
        case .number(let wanted):
            order = Self.number(text).map { $0 < wanted ? -1 : $0 == wanted ? 0 : 1 }
        case .string(let wanted):
            order = Self.compareBytes(text, Array(wanted.utf8))
        case .boolean(let wanted):
            order = value.kind == .boolean || value.kind == .string ? (Self.compareBytes(text, Array(String(wanted).utf8)) == 0 ? 0 : nil) : nil
        case .level:
            order = nil
        }
        guard let order else { return op == .notEqual }
        return Self.apply(op, order)
    }

    private static func apply(_ op: ComparisonOperator, _ order: Int) -> Bool {
        switch op {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }

    private static func compareBytes(_ lhs: UnsafeRawBufferPointer, _ rhs: [UInt8]) -> Int {
        let common = min(lhs.count, rhs.count)
        let result = rhs.withUnsafeBytes { common == 0 ? 0 : memcmp(lhs.baseAddress!, $0.baseAddress!, common) }
        if result != 0 { return result < 0 ? -1 : 1 }
        return lhs.count < rhs.count ? -1 : lhs.count == rhs.count ? 0 : 1
    }

    /// A number written in `text` (JSON number syntax, the whole text), or nil.
    static func number(_ text: UnsafeRawBufferPointer) -> Double? {
        guard text.count > 0, text.count < 64 else { return nil }
        var buffer = [CChar](repeating: 0, count: text.count + 1)
        for (index, byte) in text.enumerated() {
            guard byte.isDigit || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte | 0x20 == UInt8(ascii: "e") else { return nil }
            buffer[index] = CChar(bitPattern: byte)
        }
        var end: UnsafeMutablePointer<CChar>?
        let value = buffer.withUnsafeMutableBufferPointer { pointer -> Double? in
            let parsed = strtod(pointer.baseAddress!, &end)
            return end == pointer.baseAddress! + text.count ? parsed : nil
        }
        return value
    }

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let base = haystack.baseAddress else { return false }
        return needle.withUnsafeBytes { sluice_memmem(base, haystack.count, $0.baseAddress!, needle.count) != nil }
    }
}
