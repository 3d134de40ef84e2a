#if canImport(Glibc)
import Glibc
#endif

/// Consecutive `remove`, `rename` and `set` steps, fused into one pass over an event's top-level
/// fields: each field's fate is worked out step by step (so the steps keep their order's
/// meaning), then the object is written once. Names are compared as bytes. One per thread.
final class FieldShaper {
    /// A name in `bytes`: where it starts, how long it is, and its first eight bytes (see
    /// `prefix(_:)`), so most names are told apart without reading them.
    private struct Name {
        var start: Int
        var count: Int
        var prefix: UInt64 = 0
    }

    /// One step, as ranges into the name tables (plain values: matching them costs no
    /// reference counting).
    private struct Step {
        enum Kind { case remove, rename, set }
        var kind: Kind
        /// `remove`, `set`: the names it takes; `rename`: the `from` names.
        var names: Range<Int>
        /// `rename`: the first rename target of this step (`to` of `names.lowerBound`).
        var firstTarget = 0
        /// `remove`: nested paths, as (first name, child shaper) in `nested`.
        var nested: Range<Int> = 0..<0
        /// `set`: its fields pre-encoded as `,"key":"value"...`.
        var encoded: Name = Name(start: 0, count: 0)
        /// Bit `n` set when one of `names` (or nested first names) is `n` bytes long (longer
        /// ones set bit 63): a field of another length is passed over without comparing.
        var lengths: UInt64 = 0
    }

    private struct Field {
        var keyStart: Int
        var keyEnd: Int
        var keyPrefix: UInt64
        var valueStart: Int
        var valueEnd: Int
        /// The rename target it ends up with (an index into `targets`), else -1.
        var renamedTo = -1
        var dropped = false
        /// Child shapers (indices into `children`) for nested removals, up to two.
        var firstChild = -1
        var secondChild = -1
    }

    /// The tables, in memory of the shaper's own: the per-event loops read them with no
    /// reference counting or uniqueness checks.
    private let bytes: UnsafeMutableRawBufferPointer
    private let names: UnsafeMutableBufferPointer<Name>
    private let targets: UnsafeMutableBufferPointer<Name>
    private let nested: UnsafeMutableBufferPointer<(first: Name, child: Int)>
    private let children: [FieldShaper]
    private let steps: UnsafeMutableBufferPointer<Step>
    /// The event's top-level fields (scratch space, grown as needed).
    @exclusivity(unchecked) private var fields: UnsafeMutableBufferPointer<Field>
    @exclusivity(unchecked) private var fieldCount = 0
    /// The rename targets some field took in this event, each once.
    private let renamedTargets: UnsafeMutableBufferPointer<Int>
    @exclusivity(unchecked) private var renamedCount = 0
    /// Every top-level name a step reads or writes: what the encoder checks before it lets
    /// the shaper write its events (`shapeMembers`).
    let touchedNames: Set<String>

    init(_ configured: [TransformStep]) {
        var bytes: [UInt8] = []
        var names: [Name] = []
        var targets: [Name] = []
        var nested: [(first: Name, child: Int)] = []
        var children: [FieldShaper] = []
        var steps: [Step] = []
        var touched = Set<String>()
        func name(_ text: String) -> Name {
            touched.insert(text)
            let start = bytes.count
            bytes += text.utf8
            return bytes.withUnsafeBytes { all in
                let text = UnsafeRawBufferPointer(rebasing: all[start...])
                return Name(start: start, count: text.count, prefix: Self.prefix(text, available: text.count))
            }
        }
        for step in configured {
            let first = names.count
            switch step {
            case .remove(let paths):
                for path in paths {
                    names.append(name(path.description))
                    if path.components.count == 1 { names.append(name(path.components[0])) }
                }
                let nestedFirst = nested.count
                let deeper = Dictionary(grouping: paths.filter { $0.components.count > 1 }, by: { $0.components[0] })
                for (key, paths) in deeper.sorted(by: { $0.key < $1.key }) {
                    children.append(FieldShaper([.remove(paths.map { FieldPath(Array($0.components.dropFirst())) })]))
                    nested.append((name(key), children.count - 1))
                }
                steps.append(Step(kind: .remove, names: first..<names.count, nested: nestedFirst..<nested.count))
            case .rename(let pairs):
                let firstTarget = targets.count
                for pair in pairs {
                    names.append(name(pair.from))
                    targets.append(name(pair.to))
                }
                steps.append(Step(kind: .rename, names: first..<names.count, firstTarget: firstTarget))
            case .set(let pairs):
                var encoded = ByteWriter(capacity: 64)
                for (key, value) in pairs {
                    names.append(name(key))
                    encoded.append(UInt8(ascii: ","))
                    encoded.appendJSONString(key)
                    encoded.append(UInt8(ascii: ":"))
                    encoded.appendJSONString(value)
                }
                let pre = Name(start: bytes.count, count: encoded.count)
                bytes += encoded.bytes
                steps.append(Step(kind: .set, names: first..<names.count, encoded: pre))
            default:
                break
            }
        }
        for index in steps.indices {
            for name in steps[index].names { steps[index].lengths |= Self.lengthBit(names[name].count) }
            for entry in steps[index].nested { steps[index].lengths |= Self.lengthBit(nested[entry].first.count) }
        }
        touchedNames = touched
        self.bytes = .allocate(byteCount: max(bytes.count, 1), alignment: 8)
        self.bytes.copyBytes(from: bytes)
        self.names = Self.copy(names)
        self.targets = Self.copy(targets)
        self.nested = Self.copy(nested)
        self.children = children
        self.steps = Self.copy(steps)
        fields = Self.copy(Array(repeating: Field(keyStart: 0, keyEnd: 0, keyPrefix: 0, valueStart: 0, valueEnd: 0), count: 32))
        renamedTargets = Self.copy(Array(repeating: 0, count: targets.count))
    }

    deinit {
        bytes.deallocate()
        names.deallocate()
        targets.deallocate()
        nested.deallocate()
        steps.deallocate()
        fields.deallocate()
        renamedTargets.deallocate()
    }

    private static func copy<Element>(_ elements: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(elements.count, 1))
        _ = buffer.initialize(from: elements)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<elements.count])
    }

    /// Whether `step` is one this shaper fuses.
    static func fuses(_ step: TransformStep) -> Bool {
        switch step {
        case .remove, .rename, .set: true
        default: false
        }
    }

    /// Writes the reshaped `event` into `output`; false (nothing written) when it is not an
    /// object.
    func shape(_ event: UnsafeRawBufferPointer, into output: inout ByteWriter) -> Bool {
        guard split(event) else { return false }
        output.reserve(event.count + 64)
        output.append(UInt8(ascii: "{"))
        var first = true
        writeMembers(of: event, into: &output, first: &first)
        appendSetFields(to: &output, first: &first)
        output.append(UInt8(ascii: "}"))
        return true
    }

    /// Writes the members of the object whose top-level `fields` a scanner found in `text`,
    /// reshaped, without braces and without the fields `set` adds (`appendSetFields`): the
    /// encoder writes an event this way when this shaper's steps come first for its source.
    /// Returns whether it wrote a member.
    func shapeMembers(of text: UnsafeRawBufferPointer, fields scanned: [JSONObjectScanner.Field], into output: inout ByteWriter, first: Bool) -> Bool {
        fieldCount = 0
        for field in scanned {
            if fieldCount == fields.count { growFields() }
            let key = Int(field.keyStart)..<Int(field.keyEnd)
            fields[fieldCount] = Field(
                keyStart: key.lowerBound, keyEnd: key.upperBound,
                keyPrefix: Self.prefix(UnsafeRawBufferPointer(rebasing: text[key]), available: text.count - key.lowerBound),
                valueStart: Int(field.valueStart), valueEnd: Int(field.valueEnd)
            )
            fieldCount += 1
        }
        var first = first
        let before = output.count
        writeMembers(of: text, into: &output, first: &first)
        return output.count > before
    }

    /// The object's members (in `fields`), their fates decided and written in order.
    private func writeMembers(of event: UnsafeRawBufferPointer, into output: inout ByteWriter, first: inout Bool) {
        renamedCount = 0
        let fields = UnsafeMutableBufferPointer(rebasing: self.fields[0..<fieldCount])
        for index in fields.indices { decideFate(of: &fields[index], in: event) }
        // A field a rename replaces goes (unless it was renamed itself).
        if renamedCount > 0 {
            for index in fields.indices where !fields[index].dropped && fields[index].renamedTo < 0 {
                let key = UnsafeRawBufferPointer(rebasing: event[fields[index].keyStart..<fields[index].keyEnd])
                for taken in renamedTargets[0..<renamedCount] where equal(key, fields[index].keyPrefix, targets[taken]) {
                    fields[index].dropped = true
                }
            }
        }
        // Fields that stay as they are, one after another, are copied as one run (with the
        // commas between them).
        var run = 0..<0
        for field in fields {
            if !field.dropped && field.renamedTo < 0 && field.firstChild < 0 {
                let whole = (field.keyStart - 1)..<field.valueEnd
                run = run.isEmpty ? whole : run.lowerBound..<whole.upperBound
                continue
            }
            if !run.isEmpty { append(run, of: event, to: &output, first: &first) }
            run = 0..<0
            if field.dropped { continue }
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "\""))
            if field.renamedTo >= 0 {
                output.append(text(of: targets[field.renamedTo]))
            } else {
                output.append(UnsafeRawBufferPointer(rebasing: event[field.keyStart..<field.keyEnd]))
            }
            output.append(#"":"#)
            appendValue(of: field, in: event, to: &output)
        }
        if !run.isEmpty { append(run, of: event, to: &output, first: &first) }
    }

    /// Whether a `set` step adds fields.
    var addsFields: Bool {
        steps.contains { $0.kind == .set }
    }

    /// The fields the `set` steps add, after the object's others.
    func appendSetFields(to output: inout ByteWriter, first: inout Bool) {
        for step in steps where step.kind == .set {
            let encoded = text(of: step.encoded)
            output.append(first ? UnsafeRawBufferPointer(rebasing: encoded.dropFirst()) : encoded)
            first = false
        }
    }

    @inline(__always)
    private func append(_ run: Range<Int>, of event: UnsafeRawBufferPointer, to output: inout ByteWriter, first: inout Bool) {
        if !first { output.append(UInt8(ascii: ",")) }
        first = false
        output.append(UnsafeRawBufferPointer(rebasing: event[run]))
    }

    /// A field's value, with the nested removals that reach into it.
    private func appendValue(of field: Field, in event: UnsafeRawBufferPointer, to output: inout ByteWriter) {
        let value = UnsafeRawBufferPointer(rebasing: event[field.valueStart..<field.valueEnd])
        guard field.firstChild >= 0, value.first == UInt8(ascii: "{") else {
            output.append(value)
            return
        }
        if field.secondChild < 0 {
            if !children[field.firstChild].shape(value, into: &output) { output.append(value) }
            return
        }
        // Two remove steps reaching into the same object: one after the other.
        var once = ByteWriter(capacity: value.count)
        _ = children[field.firstChild].shape(value, into: &once)
        if !children[field.secondChild].shape(once.bytes, into: &output) { output.append(once.bytes) }
    }

    @inline(__always)
    private func text(of name: Name) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress! + name.start, count: name.count)
    }

    @inline(__always)
    private func decideFate(of field: inout Field, in event: UnsafeRawBufferPointer) {
        let key = UnsafeRawBufferPointer(rebasing: event[field.keyStart..<field.keyEnd])
        var target = -1
        for step in steps {
            // The field's name now: its key, or the rename target it took.
            let current = target >= 0 ? text(of: targets[target]) : key
            let prefix = target >= 0 ? targets[target].prefix : field.keyPrefix
            guard step.lengths & Self.lengthBit(current.count) != 0 else { continue }
            switch step.kind {
            case .remove:
                for name in step.names where equal(current, prefix, names[name]) {
                    field.dropped = true
                    return
                }
                for entry in step.nested where equal(current, prefix, nested[entry].first) {
                    if field.firstChild < 0 { field.firstChild = nested[entry].child } else { field.secondChild = nested[entry].child }
                }
            case .rename:
                for name in step.names where equal(current, prefix, names[name]) {
                    target = step.firstTarget + (name - step.names.lowerBound)
                    if !renamedTargets[0..<renamedCount].contains(target) {
                        renamedTargets[renamedCount] = target
                        renamedCount += 1
                    }
                    break
                }
            case .set:
                for name in step.names where equal(current, prefix, names[name]) {
                    field.dropped = true
                    return
                }
            }
        }
        field.renamedTo = target
    }

    /// The top-level fields of `event` (valid JSON: Sluice wrote or checked it) into `fields`.
    private func split(_ event: UnsafeRawBufferPointer) -> Bool {
        fieldCount = 0
        var index = 0
        JSONWalk.skipWhitespace(event, &index)
        guard index < event.count, event[index] == UInt8(ascii: "{") else { return false }
        index += 1
        while let key = JSONWalk.memberKey(event, &index) {
            let valueStart = index
            JSONWalk.skipValue(event, &index)
            if fieldCount == fields.count { growFields() }
            let keyPrefix = Self.prefix(UnsafeRawBufferPointer(rebasing: event[key]), available: event.count - key.lowerBound)
            fields[fieldCount] = Field(
                keyStart: key.lowerBound, keyEnd: key.upperBound, keyPrefix: keyPrefix, valueStart: valueStart, valueEnd: index
            )
            fieldCount += 1
            JSONWalk.skipWhitespace(event, &index)
            if index < event.count, event[index] == UInt8(ascii: ",") { index += 1 } else { break }
        }
        return true
    }

    private func growFields() {
        let larger = UnsafeMutableBufferPointer<Field>.allocate(capacity: fields.count * 2)
        _ = larger.initialize(fromContentsOf: fields)
        fields.deallocate()
        fields = larger
    }

    @inline(__always)
    private static func lengthBit(_ count: Int) -> UInt64 {
        1 << UInt64(min(count, 63))
    }

    /// The first eight bytes of `name` as a number (zero past its end), reading eight bytes at
    /// once when `available` (bytes readable from the name's start) allows.
    @inline(__always)
    private static func prefix(_ name: UnsafeRawBufferPointer, available: Int) -> UInt64 {
        guard let base = name.baseAddress else { return 0 }
        if available >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            return name.count >= 8 ? word : word & ((1 << UInt64(name.count * 8)) - 1)
        }
        var word: UInt64 = 0
        for (offset, byte) in name.prefix(8).enumerated() { word |= UInt64(byte) << UInt64(offset * 8) }
        return word
    }

    @inline(__always)
    private func equal(_ candidate: UnsafeRawBufferPointer, _ candidatePrefix: UInt64, _ name: Name) -> Bool {
        guard candidate.count == name.count, candidatePrefix == name.prefix else { return false }
        guard name.count > 8 else { return true }
        return memcmp(bytes.baseAddress! + name.start + 8, candidate.baseAddress! + 8, name.count - 8) == 0
    }
}
