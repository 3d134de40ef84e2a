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
/// The expressions are compiled into flat arrays of plain values (`ExpressionProgram`), so
/// evaluation allocates nothing and touches no reference counts.
///
/// Comparisons are forgiving where logs are: a number compares with a string that holds a number
/// (logfmt values are strings), a level name compares with any spelling of a level, and a
/// missing field is `null` (so `x != "a"` is true when there is no `x`, and ordering comparisons
/// are false).
public final class EventMatcher {
    public let expressions: [Expression]
    private let program: ExpressionProgram
    private let nodes: UnsafeMutableBufferPointer<ExpressionProgram.Node>
    private let strings: UnsafeMutableBufferPointer<UInt8>
    private let roots: UnsafeMutableBufferPointer<Int32>
    /// Field names: each slot's top-level key index, and its nested components as ranges of
    /// `nameBytes` (`nestedStart..<nestedEnd` of `componentRanges`).
    private let nameBytes: UnsafeMutableBufferPointer<UInt8>
    private let topKeys: UnsafeMutableBufferPointer<(start: Int32, end: Int32)>
    private let slotTopKey: UnsafeMutableBufferPointer<Int32>
    private let slotNested: UnsafeMutableBufferPointer<(start: Int32, end: Int32)>
    private let componentRanges: UnsafeMutableBufferPointer<(start: Int32, end: Int32)>
    private let slotIsLevel: UnsafeMutableBufferPointer<Bool>
    /// Per event: values of the top-level keys, and of each slot once looked up.
    private let topValues: UnsafeMutableBufferPointer<FieldValue>
    private let slotValues: UnsafeMutableBufferPointer<FieldValue>
    private let slotLoaded: UnsafeMutableBufferPointer<UInt32>
    private var generation: UInt32 = 1
    private let matchers: [PatternMatcher]
    private let matchCodes: UnsafeMutableBufferPointer<OpaquePointer>
    private let matchData: UnsafeMutableBufferPointer<OpaquePointer>
    private var record = EventRecord(json: UnsafeRawBufferPointer(start: nil, count: 0), timestampMilliseconds: 0, level: .unknown)
    private var scanned = false
    private var scratch = ByteWriter(capacity: 256)
    /// The wanted top-level keys by length: `keysOfLength[n]` is the range of `keysByLength`
    /// holding the indices of the keys `n` bytes long (the last entry: 64 bytes or longer), so
    /// a key in the event is compared with only the few wanted keys of its length.
    private let keysOfLength: UnsafeMutableBufferPointer<(start: Int32, end: Int32)>
    private let keysByLength: UnsafeMutableBufferPointer<Int32>
    private static let longKeyBucket = 64
    /// Shorter values go straight to the regex (its JIT finds first characters fast); the
    /// literal prefilter pays off on longer ones.
    private static let prefilterMinimumBytes = 64

    /// Laid out widest first (32 bytes, no padding inside) because it is copied on every field
    /// access.
    struct FieldValue {
        /// The value read as a number, once `numberState` is 1.
        var number: Double = 0
        var start: Int32
        var end: Int32
        /// A string's content range without quotes, once `contentState` is 1.
        var contentStart: Int32 = 0
        var contentEnd: Int32 = 0
        var kind: JSONObjectScanner.ValueKind
        var present: Bool
        /// 0 not read as a number yet, 1 a number, 2 not a number.
        var numberState: UInt8 = 0
        /// 0 content not looked at yet, 1 plain (the range is the content), 2 has escapes
        /// (decoded on use).
        var contentState: UInt8 = 0

        static let missing = FieldValue(start: 0, end: 0, kind: .null, present: false)
    }

    /// - Parameter extraFields: fields `rawValue(of:)` will be asked for (alert `group_by`).
    public init(_ expressions: [Expression], extraFields: [FieldPath] = []) {
        self.expressions = expressions
        let program = ExpressionProgram(expressions, extraFields: extraFields)
        self.program = program
        nodes = .copying(program.nodes)
        strings = .copying(program.strings)
        roots = .copying(program.roots)
        var names: [UInt8] = []
        var keys: [(start: Int32, end: Int32)] = []
        var topKeyOfSlot: [Int32] = []
        var nested: [(start: Int32, end: Int32)] = []
        var components: [(start: Int32, end: Int32)] = []
        func intern(_ text: String) -> (start: Int32, end: Int32) {
            let start = Int32(names.count)
            names += Array(text.utf8)
            return (start, Int32(names.count))
        }
        var keyTexts: [String] = []
        for path in program.paths {
            let top = path.components[0]
            if let existing = keyTexts.firstIndex(of: top) {
                topKeyOfSlot.append(Int32(existing))
            } else {
                keyTexts.append(top)
                keys.append(intern(top))
                topKeyOfSlot.append(Int32(keys.count - 1))
            }
            let first = Int32(components.count)
            for component in path.components.dropFirst() { components.append(intern(component)) }
            nested.append((first, Int32(components.count)))
        }
        nameBytes = .copying(names)
        topKeys = .copying(keys)
        let bucket = { (key: (start: Int32, end: Int32)) in min(Int(key.end - key.start), Self.longKeyBucket) }
        let ordered = keys.indices.sorted { bucket(keys[$0]) < bucket(keys[$1]) }
        keysByLength = .copying(ordered.map { Int32($0) })
        keysOfLength = .copying((0...Self.longKeyBucket).map { length in
            let first = ordered.firstIndex { bucket(keys[$0]) == length } ?? 0
            let count = ordered.count { bucket(keys[$0]) == length }
            return (Int32(first), Int32(first + count))
        })
        slotTopKey = .copying(topKeyOfSlot)
        slotNested = .copying(nested)
        componentRanges = .copying(components)
        slotIsLevel = .copying(program.paths.map(\.isLevel))
        topValues = .copying(Array(repeating: FieldValue.missing, count: keys.count))
        slotValues = .copying(Array(repeating: FieldValue.missing, count: program.paths.count))
        slotLoaded = .copying(Array(repeating: 0, count: program.paths.count))
        matchers = program.patterns.map { $0.matcher() }
        matchCodes = .copying(program.patterns.map(\.code))
        matchData = .copying(matchers.map(\.data))
    }

    deinit {
        nodes.deallocateAndForget()
        strings.deallocateAndForget()
        roots.deallocateAndForget()
        nameBytes.deallocateAndForget()
        topKeys.deallocateAndForget()
        keysOfLength.deallocateAndForget()
        keysByLength.deallocateAndForget()
        slotTopKey.deallocateAndForget()
        slotNested.deallocateAndForget()
        componentRanges.deallocateAndForget()
        slotIsLevel.deallocateAndForget()
        topValues.deallocateAndForget()
        slotValues.deallocateAndForget()
        slotLoaded.deallocateAndForget()
        matchCodes.deallocateAndForget()
        matchData.deallocateAndForget()
    }

    /// Makes `record` the event the next `matches` calls look at.
    @inline(__always)
    public func load(_ record: EventRecord) {
        self.record = record
        scanned = false
        generation &+= 1
        if generation == 0 {
            for index in slotLoaded.indices { slotLoaded[index] = 0 }
            generation = 1
        }
    }

    /// Whether the loaded event satisfies expression `index`. An expression that cannot be
    /// evaluated (a regex stopped at `Pattern.matchLimit`) is not satisfied, whether the regex
    /// was under `=~` or `!~`, `and` or `not`: a condition Sluice could not check lets nothing
    /// through (`lastFailed` says so, and `RegexLimitHits.conditions` counts it).
    @inline(__always)
    public func matches(_ index: Int) -> Bool {
        evaluationFailed = false
        let result = evaluate(roots[index])
        lastFailed = evaluationFailed
        guard !evaluationFailed else {
            RegexLimitHits.conditions.add(1)
            return false
        }
        return result
    }

    /// Whether the last `matches` could not evaluate its expression.
    public private(set) var lastFailed = false
    private var evaluationFailed = false

    /// The raw JSON text of `path` in the loaded event; nil when the event has no such field.
    /// `path` must be one of the expressions' fields or the `extraFields`.
    public func rawValue(of path: FieldPath) -> UnsafeRawBufferPointer? {
        slot(of: path).flatMap(rawValue(ofSlot:))
    }

    /// Where `path` (one of the expressions' fields or the `extraFields`) is kept, for callers
    /// that read the same field of every event and should not compare paths each time.
    public func slot(of path: FieldPath) -> Int? {
        program.paths.firstIndex(of: path)
    }

    /// The raw JSON text of the field in `slot` (from `slot(of:)`) in the loaded event.
    public func rawValue(ofSlot slot: Int) -> UnsafeRawBufferPointer? {
        let value = self.value(Int32(slot))
        guard value.present else { return nil }
        return UnsafeRawBufferPointer(rebasing: record.json[Int(value.start)..<Int(value.end)])
    }

    private func evaluate(_ index: Int32) -> Bool {
        let node = nodes[Int(index)]
        switch node.kind {
        case .and: return evaluate(node.left) && evaluate(node.right)
        case .or: return evaluate(node.left) || evaluate(node.right)
        case .not: return !evaluate(node.left)
        case .exists:
            if node.isLevel && record.level != .unknown { return true }
            let value = value(node.slot)
            return value.present && value.kind != .null
        case .compareLevel:
            return compareLevels(levelOf(node.slot, isLevel: node.isLevel), node.op, Int(node.number))
        case .compareNumber:
            let value = value(node.slot)
            guard value.present, value.kind != .null else { return node.op == .notEqual }
            guard let number = number(ofSlot: node.slot) else { return node.op == .notEqual }
            return Self.apply(node.op, number < node.number ? -1 : number == node.number ? 0 : 1)
        case .compareString, .compareBoolean, .compareNull:
            return compare(node)
        case .match:
            let value = value(node.slot)
            guard value.present else {
                // `level =~ /.../` on an event whose level Sluice derived: match its name.
                if node.isLevel, record.level != .unknown {
                    let name = record.level.name
                    return regex(node.matcher, UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) != node.negated
                }
                return node.negated
            }
            let text = content(ofSlot: node.slot)
            if node.stringEnd > node.stringStart, text.count >= Self.prefilterMinimumBytes {
                let required = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(strings)[Int(node.stringStart)..<Int(node.stringEnd)])
                guard text.count >= required.count,
                      sluice_memmem(text.baseAddress!, text.count, required.baseAddress!, required.count) != nil else { return node.negated }
            }
            return regex(node.matcher, text) != node.negated
        }
    }

    /// Whether the regex matches; a match stopped at `Pattern.matchLimit` marks the evaluation
    /// as failed (`matches` then answers false, whatever the operator).
    @inline(__always)
    private func regex(_ index: Int32, _ text: UnsafeRawBufferPointer) -> Bool {
        var nothing: UInt8 = 0
        let result = text.baseAddress.map {
            sluice_pcre2_matches(matchCodes[Int(index)], $0, text.count, matchData[Int(index)], Pattern.matchContext)
        } ?? withUnsafeBytes(of: &nothing) {
            sluice_pcre2_matches(matchCodes[Int(index)], $0.baseAddress, 0, matchData[Int(index)], Pattern.matchContext)
        }
        if result < 0 { evaluationFailed = true }
        return result == 1
    }

    // MARK: Field access

    private func value(_ slot: Int32) -> FieldValue {
        let index = Int(slot)
        if slotLoaded[index] == generation { return slotValues[index] }
        if !scanned { scanTopLevel() }
        var value = topValues[Int(slotTopKey[index])]
        let nested = slotNested[index]
        var component = nested.start
        while value.present && component < nested.end {
            guard value.kind == .object else {
                value = .missing
                break
            }
            let range = componentRanges[Int(component)]
            let key = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(nameBytes)[Int(range.start)..<Int(range.end)])
            let object = UnsafeRawBufferPointer(rebasing: record.json[Int(value.start)..<Int(value.end)])
            if let found = JSONLookup.value(forKey: key, inObject: object) {
                let start = Int(value.start) + found.lowerBound
                value = FieldValue(start: Int32(start), end: Int32(Int(value.start) + found.upperBound), kind: Self.kind(of: record.json[start]), present: true)
            } else {
                value = .missing
            }
            component += 1
        }
        slotValues[index] = value
        slotLoaded[index] = generation
        return value
    }

    /// One pass over the event's top level, keeping the wanted keys' values.
    private func scanTopLevel() {
        scanned = true
        for index in topValues.indices { topValues[index] = .missing }
        guard topKeys.count > 0, let base = record.json.baseAddress else { return }
        let names = UnsafeRawBufferPointer(nameBytes)
        var missing = topKeys.count
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
            let candidates = keysOfLength[min(keyLength, Self.longKeyBucket)]
            let firstByte = cursor.base[keyStart]
            for position in Int(candidates.start)..<Int(candidates.end) {
                let index = Int(keysByLength[position])
                let key = topKeys[index]
                // The first byte rules out nearly every other key of this length without a call.
                guard Int(key.end - key.start) == keyLength, !topValues[index].present,
                      keyLength == 0 || names[Int(key.start)] == firstByte
                        && (keyLength == 1 || memcmp(base + keyStart + 1, names.baseAddress! + Int(key.start) + 1, keyLength - 1) == 0)
                else { continue }
                topValues[index] = FieldValue(start: Int32(valueStart), end: Int32(cursor.index), kind: Self.kind(of: record.json[valueStart]), present: true)
                missing -= 1
                if missing == 0 { return }
                break
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

    /// The slot's content (see `content(_:)`), with a plain string's range worked out once per
    /// event.
    private func content(ofSlot slot: Int32) -> UnsafeRawBufferPointer {
        let index = Int(slot)
        let value = self.value(slot)
        guard value.kind == .string, value.end - value.start >= 2 else { return content(value) }
        switch slotValues[index].contentState {
        case 1:
            return UnsafeRawBufferPointer(rebasing: record.json[Int(value.contentStart)..<Int(value.contentEnd)])
        case 2:
            return content(value)
        default:
            let inner = (value.start + 1)..<(value.end - 1)
            let escaped = UnsafeRawBufferPointer(rebasing: record.json[Int(inner.lowerBound)..<Int(inner.upperBound)]).contains(UInt8(ascii: "\\"))
            slotValues[index].contentState = escaped ? 2 : 1
            slotValues[index].contentStart = inner.lowerBound
            slotValues[index].contentEnd = inner.upperBound
            return content(value)
        }
    }

    /// A string's content (escapes decoded when there are any), or any other value's JSON text.
    private func content(_ value: FieldValue) -> UnsafeRawBufferPointer {
        let raw = UnsafeRawBufferPointer(rebasing: record.json[Int(value.start)..<Int(value.end)])
        guard value.kind == .string, raw.count >= 2 else { return raw }
        let inner = UnsafeRawBufferPointer(rebasing: raw[1..<(raw.count - 1)])
        guard inner.contains(UInt8(ascii: "\\")) else { return inner }
        scratch.removeAll()
        JSONLookup.unescape(inner, into: &scratch)
        return scratch.bytes
    }

    // MARK: Comparisons

    /// The slot's value as a number, parsed once per event.
    private func number(ofSlot slot: Int32) -> Double? {
        let index = Int(slot)
        if slotValues[index].numberState == 0 {
            let parsed = Self.number(content(ofSlot: slot))
            slotValues[index].numberState = parsed == nil ? 2 : 1
            slotValues[index].number = parsed ?? 0
        }
        return slotValues[index].numberState == 1 ? slotValues[index].number : nil
    }

    private func levelOf(_ slot: Int32, isLevel: Bool) -> EventLevel {
        if isLevel, record.level != .unknown { return record.level }
        let value = value(slot)
        guard value.present else { return .unknown }
        let text = content(ofSlot: slot)
        if value.kind == .number, let number = Self.number(text) { return EventLevel.fromBunyan(Int(number)) }
        return EventLevel.parse(text)
    }

    private func compareLevels(_ level: EventLevel, _ op: ComparisonOperator, _ wanted: Int) -> Bool {
        guard level != .unknown else { return op == .notEqual }
        let have = Int(level.rawValue)
        return Self.apply(op, have < wanted ? -1 : have == wanted ? 0 : 1)
    }

    private func compare(_ node: ExpressionProgram.Node) -> Bool {
        let value = value(node.slot)
        guard value.present, value.kind != .null else {
            switch (node.kind, node.op) {
            case (.compareNull, .equal): return true
            case (.compareNull, .notEqual): return false
            case (_, .notEqual): return true
            default: return false
            }
        }
        let text = content(ofSlot: node.slot)
        let order: Int?
        switch node.kind {
        case .compareString:
            order = Self.compareBytes(text, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(strings)[Int(node.stringStart)..<Int(node.stringEnd)]))
        case .compareBoolean:
            guard value.kind == .boolean || value.kind == .string else {
                order = nil
                break
            }
            let isTrue = text.count == 4 && text[0] == UInt8(ascii: "t") && text[1] == UInt8(ascii: "r")
            let isFalse = text.count == 5 && text[0] == UInt8(ascii: "f") && text[1] == UInt8(ascii: "a")
            order = (node.number == 1 && isTrue) || (node.number == 0 && isFalse) ? 0 : nil
        default:
            order = nil
        }
        guard let order else { return node.op == .notEqual }
        return Self.apply(node.op, order)
    }

    @inline(__always)
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

    private static func compareBytes(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
        let common = min(lhs.count, rhs.count)
        let result = common == 0 ? 0 : memcmp(lhs.baseAddress!, rhs.baseAddress!, common)
        if result != 0 { return result < 0 ? -1 : 1 }
        return lhs.count < rhs.count ? -1 : lhs.count == rhs.count ? 0 : 1
    }

    /// A number written in `text` (JSON number syntax, the whole text), or nil. Plain integers
    /// and decimals are read directly; exponents and very long numbers go through `strtod`.
    static func number(_ text: UnsafeRawBufferPointer) -> Double? {
        guard text.count > 0, text.count < 64 else { return nil }
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative || text[0] == UInt8(ascii: "+") { index = 1 }
        var whole: Int64 = 0
        var digits = 0
        while index < text.count, text[index].isDigit, digits < 18 {
            whole = whole * 10 + Int64(text[index] - UInt8(ascii: "0"))
            index += 1
            digits += 1
        }
        var fraction: Double = 0
        if index < text.count, text[index] == UInt8(ascii: "."), digits > 0 {
            index += 1
            var scale = 0.1
            let start = index
            while index < text.count, text[index].isDigit, index - start < 15 {
                fraction += Double(text[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        if index == text.count, digits > 0 {
            let value = Double(whole) + fraction
            return negative ? -value : value
        }
        return slowNumber(text)
    }

    private static func slowNumber(_ text: UnsafeRawBufferPointer) -> Double? {
        for byte in text {
            guard byte.isDigit || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte | 0x20 == UInt8(ascii: "e") else { return nil }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { buffer -> Double? in
            for (index, byte) in text.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            buffer[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let parsed = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + text.count ? parsed : nil
        }
    }
}

extension UnsafeMutableBufferPointer {
    /// A heap copy of `array` the caller deallocates.
    static func copying(_ array: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: Swift.max(array.count, 1))
        _ = buffer.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
    }

    func deallocateAndForget() {
        UnsafeMutableBufferPointer(start: baseAddress, count: count).deallocate()
    }
}
