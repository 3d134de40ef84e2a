#if canImport(Glibc)
import Glibc
#endif

/// Consecutive `remove`, `rename` and `set` steps, fused into one pass over an event's top-level
/// fields: each field's fate is worked out step by step (so the steps keep their order's
/// meaning), then the object is written once. Names are compared as bytes. One per thread.
final class FieldShaper {
    /// A name in `bytes`: where it starts and how long it is.
    private struct Name {
        var start: Int
        var count: Int
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
        var valueStart: Int
        var valueEnd: Int
        /// The rename target it ends up with (an index into `targets`), else -1.
        var renamedTo = -1
        var dropped = false
        /// Child shapers (indices into `children`) for nested removals, up to two.
        var firstChild = -1
        var secondChild = -1
    }

    private let bytes: [UInt8]
    private let names: [Name]
    private let targets: [Name]
    private let nested: [(first: Name, child: Int)]
    private let children: [FieldShaper]
    private let steps: [Step]
    @exclusivity(unchecked) private var fields: [Field] = []
    @exclusivity(unchecked) private var renamedTargets: [Int] = []

    init(_ configured: [TransformStep]) {
        var bytes: [UInt8] = []
        var names: [Name] = []
        var targets: [Name] = []
        var nested: [(first: Name, child: Int)] = []
        var children: [FieldShaper] = []
        var steps: [Step] = []
        func name(_ text: String) -> Name {
            let added = Name(start: bytes.count, count: text.utf8.count)
            bytes += text.utf8
            return added
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
        self.bytes = bytes
        self.names = names
        self.targets = targets
        self.nested = nested
        self.children = children
        self.steps = steps
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
        renamedTargets.removeAll(keepingCapacity: true)
        bytes.withUnsafeBytes { table in
            for index in fields.indices { decideFate(of: index, in: event, table: table) }
            // A field a rename replaces goes (unless it was renamed itself).
            guard !renamedTargets.isEmpty else { return }
            for index in fields.indices where !fields[index].dropped && fields[index].renamedTo < 0 {
                let key = UnsafeRawBufferPointer(rebasing: event[fields[index].keyStart..<fields[index].keyEnd])
                if renamedTargets.contains(where: { Self.equal(key, targets[$0], table) }) { fields[index].dropped = true }
            }
        }
        output.append(UInt8(ascii: "{"))
        var first = true
        for field in fields where !field.dropped {
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "\""))
            if field.renamedTo >= 0 {
                appendName(targets[field.renamedTo], to: &output)
            } else {
                output.append(UnsafeRawBufferPointer(rebasing: event[field.keyStart..<field.keyEnd]))
            }
            output.append(#"":"#)
            let value = UnsafeRawBufferPointer(rebasing: event[field.valueStart..<field.valueEnd])
            guard field.firstChild >= 0, value.first == UInt8(ascii: "{") else {
                output.append(value)
                continue
            }
            if field.secondChild < 0 {
                if !children[field.firstChild].shape(value, into: &output) { output.append(value) }
                continue
            }
            // Two remove steps reaching into the same object: one after the other.
            var once = ByteWriter(capacity: value.count)
            _ = children[field.firstChild].shape(value, into: &once)
            if !children[field.secondChild].shape(once.bytes, into: &output) { output.append(once.bytes) }
        }
        for step in steps where step.kind == .set {
            let encoded = step.encoded
            bytes.withUnsafeBytes { table in
                let skip = first ? 1 : 0
                output.append(UnsafeRawBufferPointer(rebasing: table[(encoded.start + skip)..<(encoded.start + encoded.count)]))
            }
            first = false
        }
        output.append(UInt8(ascii: "}"))
        return true
    }

    private func appendName(_ name: Name, to output: inout ByteWriter) {
        bytes.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[name.start..<(name.start + name.count)])) }
    }

    private func decideFate(of index: Int, in event: UnsafeRawBufferPointer, table: UnsafeRawBufferPointer) {
        let key = UnsafeRawBufferPointer(rebasing: event[fields[index].keyStart..<fields[index].keyEnd])
        var target = -1
        for step in steps {
            // The field's name now: its key, or the rename target it took.
            let current = target >= 0 ? UnsafeRawBufferPointer(rebasing: table[targets[target].start..<(targets[target].start + targets[target].count)]) : key
            guard step.lengths & Self.lengthBit(current.count) != 0 else { continue }
            switch step.kind {
            case .remove:
                for name in step.names where Self.equal(current, names[name], table) {
                    fields[index].dropped = true
                    return
                }
                for entry in step.nested where Self.equal(current, nested[entry].first, table) {
                    if fields[index].firstChild < 0 { fields[index].firstChild = nested[entry].child } else { fields[index].secondChild = nested[entry].child }
                }
            case .rename:
                for name in step.names where Self.equal(current, names[name], table) {
                    target = step.firstTarget + (name - step.names.lowerBound)
                    renamedTargets.append(target)
                    break
                }
            case .set:
                for name in step.names where Self.equal(current, names[name], table) {
                    fields[index].dropped = true
                    return
                }
            }
        }
        fields[index].renamedTo = target
    }

    /// The top-level fields of `event` (valid JSON: Sluice wrote or checked it).
    private func split(_ event: UnsafeRawBufferPointer) -> Bool {
        fields.removeAll(keepingCapacity: true)
        var index = 0
        JSONWalk.skipWhitespace(event, &index)
        guard index < event.count, event[index] == UInt8(ascii: "{") else { return false }
        index += 1
        while let key = JSONWalk.memberKey(event, &index) {
            let valueStart = index
            JSONWalk.skipValue(event, &index)
            fields.append(Field(keyStart: key.lowerBound, keyEnd: key.upperBound, valueStart: valueStart, valueEnd: index))
            JSONWalk.skipWhitespace(event, &index)
            if index < event.count, event[index] == UInt8(ascii: ",") { index += 1 } else { break }
        }
        return true
    }

    @inline(__always)
    private static func lengthBit(_ count: Int) -> UInt64 {
        1 << UInt64(min(count, 63))
    }

    @inline(__always)
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ name: Name, _ table: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == name.count else { return false }
        guard name.count > 0 else { return true }
        return memcmp(table.baseAddress! + name.start, bytes.baseAddress!, name.count) == 0
    }
}
