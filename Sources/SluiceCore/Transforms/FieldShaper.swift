#if canImport(Glibc)
import Glibc
#endif

/// Consecutive `remove`, `rename` and `set` steps, fused into one pass over an event's top-level
/// fields: each field's fate is worked out step by step (so the steps keep their order's
/// meaning), then the object is written once. Names are compared as bytes. One per thread.
final class FieldShaper {
    private enum Step {
        /// Top-level names (and dotted names spelled as keys), and nested paths by first name.
        case remove(names: [[UInt8]], nested: [(first: [UInt8], child: FieldShaper)])
        case rename([(from: [UInt8], to: [UInt8])])
        case set(names: [[UInt8]], encoded: [UInt8])
    }

    private struct Field {
        var keyStart: Int
        var keyEnd: Int
        var valueStart: Int
        var valueEnd: Int
        /// The name it ends up with when renamed (an index into the rename targets), else -1.
        var renamedTo: Int = -1
        var dropped = false
        var nested: [FieldShaper] = []
    }

    private let steps: [Step]
    /// Every rename target, in step order (`Field.renamedTo` indexes it).
    private let targets: [[UInt8]]
    /// The `set` fields, each `,"key":"value"` pre-encoded (the first without its comma).
    @exclusivity(unchecked) private var fields: [Field] = []

    init(_ configured: [TransformStep]) {
        var steps: [Step] = []
        var targets: [[UInt8]] = []
        for step in configured {
            switch step {
            case .remove(let paths):
                let deeper = Dictionary(grouping: paths.filter { $0.components.count > 1 }, by: { $0.components[0] })
                steps.append(.remove(
                    names: paths.map { Array($0.description.utf8) } + paths.filter { $0.components.count == 1 }.map { Array($0.components[0].utf8) },
                    nested: deeper.sorted { $0.key < $1.key }.map { first, paths in
                        (Array(first.utf8), FieldShaper([.remove(paths.map { FieldPath(Array($0.components.dropFirst())) })]))
                    }
                ))
            case .rename(let pairs):
                steps.append(.rename(pairs.map { (Array($0.from.utf8), Array($0.to.utf8)) }))
                targets += pairs.map { Array($0.to.utf8) }
            case .set(let pairs):
                var encoded = ByteWriter(capacity: 64)
                for (key, value) in pairs {
                    encoded.append(UInt8(ascii: ","))
                    encoded.appendJSONString(key)
                    encoded.append(UInt8(ascii: ":"))
                    encoded.appendJSONString(value)
                }
                steps.append(.set(names: pairs.map { Array($0.key.utf8) }, encoded: Array(encoded.bytes)))
            default:
                break
            }
        }
        self.steps = steps
        self.targets = targets
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
        var renamedNames: [[UInt8]] = []
        for index in fields.indices {
            decideFate(of: index, in: event, renamed: &renamedNames)
        }
        // A field a rename replaces goes (unless it was renamed itself).
        if !renamedNames.isEmpty {
            for index in fields.indices where !fields[index].dropped && fields[index].renamedTo < 0 {
                let key = UnsafeRawBufferPointer(rebasing: event[fields[index].keyStart..<fields[index].keyEnd])
                if renamedNames.contains(where: { Self.equal(key, $0) }) { fields[index].dropped = true }
            }
        }
        output.append(UInt8(ascii: "{"))
        var first = true
        for field in fields where !field.dropped {
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "\""))
            if field.renamedTo >= 0 {
                output.append(targets[field.renamedTo])
            } else {
                output.append(UnsafeRawBufferPointer(rebasing: event[field.keyStart..<field.keyEnd]))
            }
            output.append(#"":"#)
            let value = UnsafeRawBufferPointer(rebasing: event[field.valueStart..<field.valueEnd])
            if field.nested.count == 1, value.first == UInt8(ascii: "{"), field.nested[0].shape(value, into: &output) { continue }
            if field.nested.count > 1, value.first == UInt8(ascii: "{") {
                // Two remove steps reaching into the same object: one after the other.
                var current = ByteWriter(capacity: value.count)
                current.append(value)
                for child in field.nested {
                    var next = ByteWriter(capacity: current.count)
                    _ = child.shape(current.bytes, into: &next)
                    swap(&current, &next)
                }
                output.append(current.bytes)
                continue
            }
            output.append(value)
        }
        for step in steps {
            guard case .set(_, let encoded) = step else { continue }
            encoded.withUnsafeBytes { bytes in
                output.append(first ? UnsafeRawBufferPointer(rebasing: bytes[1...]) : bytes)
            }
            first = false
        }
        output.append(UInt8(ascii: "}"))
        return true
    }

    private func decideFate(of index: Int, in event: UnsafeRawBufferPointer, renamed: inout [[UInt8]]) {
        var target = -1
        var targetBase = 0
        for step in steps {
            let name = target >= 0 ? UnsafeRawBufferPointer?.none : UnsafeRawBufferPointer(rebasing: event[fields[index].keyStart..<fields[index].keyEnd])
            let matches = { (candidate: [UInt8]) -> Bool in
                if let name { return Self.equal(name, candidate) }
                return self.targets[target] == candidate
            }
            switch step {
            case .remove(let names, let nested):
                if names.contains(where: matches) {
                    fields[index].dropped = true
                    return
                }
                for path in nested where matches(path.first) { fields[index].nested.append(path.child) }
            case .rename(let pairs):
                if let found = pairs.firstIndex(where: { matches($0.from) }) {
                    target = targetBase + found
                    renamed.append(pairs[found].to)
                }
                targetBase += pairs.count
            case .set(let names, _):
                if names.contains(where: matches) {
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
        while index < event.count {
            JSONWalk.skipWhitespace(event, &index)
            guard index < event.count, event[index] == UInt8(ascii: "\"") else { break }
            let keyStart = index + 1
            _ = JSONWalk.skipString(event, &index)
            let keyEnd = index - 1
            JSONWalk.skipWhitespace(event, &index)
            index += 1
            JSONWalk.skipWhitespace(event, &index)
            let valueStart = index
            JSONWalk.skipValue(event, &index)
            fields.append(Field(keyStart: keyStart, keyEnd: keyEnd, valueStart: valueStart, valueEnd: index))
            JSONWalk.skipWhitespace(event, &index)
            if index < event.count, event[index] == UInt8(ascii: ",") { index += 1 } else { break }
        }
        return true
    }

    @inline(__always)
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ name: [UInt8]) -> Bool {
        guard bytes.count == name.count else { return false }
        guard !name.isEmpty else { return true }
        return name.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, name.count) == 0 }
    }
}
