#if canImport(Glibc)
import Glibc
#endif

/// Consecutive `remove`, `rename` and `set` steps, fused into one pass over an event's top-level
/// fields: what the steps make of a field depends only on its name, so each name a step
/// matches has its fate worked out once, step by step (keeping the steps' order's meaning);
/// per event, each field looks its name up and the object is written once. Names are compared
/// as bytes. One per thread.
package final class FieldShaper {
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
    }

    /// What the steps make of a top-level field with a given name, worked out once per name
    /// (it depends on nothing else): dropped, renamed (and the targets it passed through, which
    /// replace fields of those names), or reached into by nested removals.
    private struct Fate {
        var name: Name
        var dropped = false
        var renamedTo = -1
        var firstChild = -1
        var secondChild = -1
        var targetsHit: Range<Int> = 0..<0
        /// The rename target of this name (its first index in `targets`), else -1: a field of
        /// this name goes when some other field is renamed to it.
        var victimOf = -1

        /// Whether a field of this name stays as it is (unless a rename replaces it).
        var leavesAsIs: Bool { !dropped && renamedTo < 0 && firstChild < 0 }
    }

    /// A field of the event that some step names: its place among the event's fields, its
    /// name's entry in `fates`, and whether it goes (its fate, or a rename onto its name).
    private struct Touched {
        var field: Int
        var fate: Int
        var dropped: Bool
    }

    /// A top-level field's key and value, as offsets into the event (`JSONObjectScanner`'s).
    private typealias Span = JSONObjectScanner.Field

    /// The tables, in memory of the shaper's own: the per-event loops read them with no
    /// reference counting or uniqueness checks.
    private let bytes: UnsafeMutableRawBufferPointer
    private let targets: UnsafeMutableBufferPointer<Name>
    private let children: [FieldShaper]
    /// `children`, for the per-event path (no reference counting).
    private let childReferences: UnsafeMutableBufferPointer<Unmanaged<FieldShaper>>
    /// The fields the `set` steps add, as the later steps leave them, encoded as
    /// `,"key":"value"...`.
    private let addedFields: Name
    /// Finds the event's top-level fields when the encoder has not (`shape`).
    @exclusivity(unchecked) private var scanner = JSONObjectScanner()
    /// The fields of the event some step names (scratch, grown as needed).
    @exclusivity(unchecked) private var touched: UnsafeMutableBufferPointer<Touched>
    /// The fate of every name a step matches; a field of another name is left as it is.
    private let fates: UnsafeMutableBufferPointer<Fate>
    /// `Fate.targetsHit` index this.
    private let fateTargets: UnsafeMutableBufferPointer<Int>
    /// Bit `n` set when some name in `fates` is `n` bytes long (longer ones set bit 63): a
    /// field of another length is passed over without comparing.
    private let fateLengths: UInt64
    /// `fates` by name: an open-addressing table of indices (-1 empty) over `slot(_:_:)`.
    private let fateSlots: UnsafeMutableBufferPointer<Int>
    /// The rename targets some field took in this event, each once.
    private let renamedTargets: UnsafeMutableBufferPointer<Int>
    @exclusivity(unchecked) private var renamedCount = 0
    /// Every top-level name a step reads or writes: what the encoder checks before it lets
    /// the shaper write its events (`shapeMembers`).
    let touchedNames: Set<String>

    package init(_ configured: [FieldEdit]) {
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
                for (key, _) in pairs { names.append(name(key)) }
                steps.append(Step(kind: .set, names: first..<names.count))
            }
        }
        touchedNames = touched
        let (added, landings) = Self.addedFields(configured)
        var encoded = ByteWriter(capacity: 64)
        for (key, value) in added {
            encoded.append(UInt8(ascii: ","))
            encoded.appendJSONString(key)
            encoded.append(UInt8(ascii: ":"))
            encoded.appendJSONString(value)
        }
        addedFields = Name(start: bytes.count, count: encoded.count)
        bytes += encoded.bytes
        addsFields = !added.isEmpty
        var fates: [Fate] = []
        var fateTargets: [Int] = []
        var fateLengths: UInt64 = 0
        let table = bytes
        func text(_ name: Name) -> ArraySlice<UInt8> { table[name.start..<(name.start + name.count)] }
        for candidate in names + nested.map(\.first) + targets where !fates.contains(where: { text($0.name) == text(candidate) }) {
            var fate = Fate(name: candidate)
            var targetsHit: [Int] = []
            Self.simulate(text(candidate), steps: steps, matches: { text(names[$0]) == $1 }, nestedMatches: { text(nested[$0].first) == $1 },
                          target: { text(targets[$0]) }, child: { nested[$0].child },
                          landsOn: { landings[$0]?.contains(String(decoding: $1, as: UTF8.self)) ?? false }, into: &fate, targetsHit: &targetsHit)
            let canonical = Set(targetsHit.map { index in targets.firstIndex { text($0) == text(targets[index]) }! })
            fate.targetsHit = fateTargets.count..<(fateTargets.count + canonical.count)
            fateTargets += canonical.sorted()
            fates.append(fate)
            fateLengths |= Self.lengthBit(candidate.count)
        }
        for (index, target) in targets.enumerated() where targets.firstIndex(where: { text($0) == text(target) }) == index {
            if let existing = fates.firstIndex(where: { text($0.name) == text(target) }) {
                fates[existing].victimOf = index
            } else {
                fates.append(Fate(name: target, victimOf: index))
                fateLengths |= Self.lengthBit(target.count)
            }
        }
        self.fates = Self.copy(fates)
        self.fateTargets = Self.copy(fateTargets)
        self.fateLengths = fateLengths
        var slots = Array(repeating: -1, count: max(16, 1 << (Int.bitWidth - (fates.count * 4).leadingZeroBitCount)))
        for (index, fate) in fates.enumerated() {
            var slot = Self.slot(fate.name.prefix, fate.name.count, mask: slots.count - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = index
        }
        fateSlots = Self.copy(slots)
        self.bytes = .allocate(byteCount: max(bytes.count, 1), alignment: 8)
        self.bytes.copyBytes(from: bytes)
        self.targets = Self.copy(targets)
        self.children = children
        childReferences = Self.copy(children.map(Unmanaged.passUnretained))
        self.touched = Self.copy(Array(repeating: Touched(field: 0, fate: 0, dropped: false), count: 32))
        renamedTargets = Self.copy(Array(repeating: 0, count: targets.count))
    }

    deinit {
        bytes.deallocate()
        targets.deallocate()
        fates.deallocate()
        fateSlots.deallocate()
        childReferences.deallocate()
        fateTargets.deallocate()
        touched.deallocate()
        renamedTargets.deallocate()
    }

    private static func copy<Element>(_ elements: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(elements.count, 1))
        _ = buffer.initialize(from: elements)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<elements.count])
    }

    /// Writes the reshaped `event` into `output`; false (nothing written) when it is not an
    /// object.
    package func shape(_ event: UnsafeRawBufferPointer, into output: inout ByteWriter) -> Bool {
        guard scanner.scan(event) else { return false }
        output.reserve(event.count + 64)
        output.append(UInt8(ascii: "{"))
        var first = true
        scanner.fields.withUnsafeBufferPointer { writeMembers(of: event, spans: $0, into: &output, first: &first) }
        appendSetFields(to: &output, first: &first)
        output.append(UInt8(ascii: "}"))
        return true
    }

    /// Writes the members of the object whose top-level `fields` a scanner found in `text`,
    /// reshaped, without braces and without the fields `set` adds (`appendSetFields`): the
    /// encoder writes an event this way when this shaper's steps come first for its source.
    /// Returns whether the `set` steps have fields to add.
    func shapeMembers(
        of text: UnsafeRawBufferPointer, fields: UnsafeBufferPointer<JSONObjectScanner.Field>, into output: inout ByteWriter, first: Bool
    ) -> Bool {
        var first = first
        writeMembers(of: text, spans: fields, into: &output, first: &first)
        return addsFields
    }

    /// The object's members (`spans`), in order: the fields no step names are copied as they
    /// are, runs of them at once (with the commas between them); the others as their fates say.
    private func writeMembers(of event: UnsafeRawBufferPointer, spans: UnsafeBufferPointer<Span>, into output: inout ByteWriter, first: inout Bool) {
        renamedCount = 0
        var touchedCount = 0
        for index in spans.indices {
            let span = spans[index]
            guard fateLengths & Self.lengthBit(Int(span.keyEnd - span.keyStart)) != 0 else { continue }
            let fate = fateIndex(of: Int(span.keyStart)..<Int(span.keyEnd), in: event)
            guard fate >= 0 else { continue }
            if touchedCount == touched.count { growTouched() }
            touched[touchedCount] = Touched(field: index, fate: fate, dropped: fates[fate].dropped)
            touchedCount += 1
        }
        let touched = UnsafeMutableBufferPointer(rebasing: self.touched[0..<touchedCount])
        // A field a rename replaces goes (unless it was renamed itself).
        if renamedCount > 0 {
            for index in touched.indices where !touched[index].dropped {
                let fate = fates[touched[index].fate]
                if fate.victimOf >= 0, fate.renamedTo < 0, renamedTargets[0..<renamedCount].contains(fate.victimOf) { touched[index].dropped = true }
            }
        }
        var next = 0  // the first field not yet written
        for entry in touched {
            let fate = fates[entry.fate]
            if !entry.dropped && fate.leavesAsIs { continue }
            if entry.field > next { append(spans[next].keyStart - 1, spans[entry.field - 1].valueEnd, of: event, to: &output, first: &first) }
            next = entry.field + 1
            if entry.dropped { continue }
            let span = spans[entry.field]
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "\""))
            if fate.renamedTo >= 0 {
                output.append(text(of: targets[fate.renamedTo]))
            } else {
                output.append(UnsafeRawBufferPointer(rebasing: event[Int(span.keyStart)..<Int(span.keyEnd)]))
            }
            output.append(#"":"#)
            appendValue(UnsafeRawBufferPointer(rebasing: event[Int(span.valueStart)..<Int(span.valueEnd)]), fate, to: &output)
        }
        if next < spans.count { append(spans[next].keyStart - 1, spans[spans.count - 1].valueEnd, of: event, to: &output, first: &first) }
    }

    /// Whether a `set` step adds fields.
    let addsFields: Bool

    /// The fields the `set` steps add, after the object's others.
    func appendSetFields(to output: inout ByteWriter, first: inout Bool) {
        guard addsFields else { return }
        let encoded = text(of: addedFields)
        output.append(first ? UnsafeRawBufferPointer(rebasing: encoded.dropFirst()) : encoded)
        first = false
    }

    /// The fields the `set` steps add, as the steps after each leave them (at `init`): a later
    /// `remove` or `set` of the name drops one, a later `rename` renames it, and of two with
    /// the same name the later stays. Also, by step, the names an added field was renamed onto
    /// there: an event's field of that name is replaced. (A later rename of an event's field
    /// onto an added name depends on the event: that one is not seen here.)
    private static func addedFields(_ steps: [FieldEdit]) -> (fields: [(key: String, value: String)], landings: [Int: Set<String>]) {
        var added: [(key: String, value: String)] = []
        var landings: [Int: Set<String>] = [:]
        for (index, step) in steps.enumerated() {
            guard case .set(let pairs) = step else { continue }
            for (key, value) in pairs {
                var current: String? = key
                for (laterIndex, later) in steps.enumerated().dropFirst(index + 1) {
                    guard let name = current else { break }
                    switch later {
                    case .remove(let paths):
                        if paths.contains(where: { $0.description == name }) { current = nil }
                    case .set(let laterPairs):
                        if laterPairs.contains(where: { $0.key == name }) { current = nil }
                    case .rename(let renames):
                        if let rename = renames.first(where: { $0.from == name }) {
                            current = rename.to
                            landings[laterIndex, default: []].insert(rename.to)
                        }
                    }
                }
                guard let current else { continue }
                added.removeAll { $0.key == current }
                added.append((current, value))
            }
        }
        return (added, landings)
    }

    @inline(__always)
    private func append(_ start: Int32, _ end: Int32, of event: UnsafeRawBufferPointer, to output: inout ByteWriter, first: inout Bool) {
        if !first { output.append(UInt8(ascii: ",")) }
        first = false
        output.append(UnsafeRawBufferPointer(start: event.baseAddress! + Int(start), count: Int(end - start)))
    }

    /// A field's value, with the nested removals that reach into it.
    /// A field's value, with the nested removals that reach into it.
    private func appendValue(_ value: UnsafeRawBufferPointer, _ fate: Fate, to output: inout ByteWriter) {
        guard fate.firstChild >= 0, value.first == UInt8(ascii: "{") else {
            output.append(value)
            return
        }
        let first = childReferences[fate.firstChild]
        if fate.secondChild < 0 {
            if !first._withUnsafeGuaranteedRef({ $0.shape(value, into: &output) }) { output.append(value) }
            return
        }
        // Two remove steps reaching into the same object: one after the other.
        var once = ByteWriter(capacity: value.count)
        _ = first._withUnsafeGuaranteedRef { $0.shape(value, into: &once) }
        if !childReferences[fate.secondChild]._withUnsafeGuaranteedRef({ $0.shape(once.bytes, into: &output) }) { output.append(once.bytes) }
    }

    @inline(__always)
    private func text(of name: Name) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress! + name.start, count: name.count)
    }

    /// The entry in `fates` of the name at `key` in `event`, else -1; notes the rename
    /// targets it passes.
    @inline(__always)
    private func fateIndex(of key: Range<Int>, in event: UnsafeRawBufferPointer) -> Int {
        let name = UnsafeRawBufferPointer(rebasing: event[key])
        let prefix = Self.prefix(name, available: event.count - key.lowerBound)
        let mask = fateSlots.count - 1
        var slot = Self.slot(prefix, name.count, mask: mask)
        while fateSlots[slot] >= 0 {
            let index = fateSlots[slot]
            slot = (slot + 1) & mask
            guard equal(name, prefix, fates[index].name) else { continue }
            for target in fateTargets[fates[index].targetsHit] where !renamedTargets[0..<renamedCount].contains(target) {
                renamedTargets[renamedCount] = target
                renamedCount += 1
            }
            return index
        }
        return -1
    }

    /// Where a name with these first eight bytes and length starts its search in `fateSlots`.
    @inline(__always)
    private static func slot(_ prefix: UInt64, _ count: Int, mask: Int) -> Int {
        Int(truncatingIfNeeded: ((prefix ^ UInt64(count)) &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Runs the steps over one field name (at `init`): what `fate` becomes, and the rename
    /// targets it passes through.
    private static func simulate(
        _ key: ArraySlice<UInt8>, steps: [Step], matches: (Int, ArraySlice<UInt8>) -> Bool, nestedMatches: (Int, ArraySlice<UInt8>) -> Bool,
        target: (Int) -> ArraySlice<UInt8>, child: (Int) -> Int, landsOn: (Int, ArraySlice<UInt8>) -> Bool,
        into fate: inout Fate, targetsHit: inout [Int]
    ) {
        var current = key
        for (index, step) in steps.enumerated() {
            switch step.kind {
            case .remove, .set:
                if step.names.contains(where: { matches($0, current) }) {
                    fate.dropped = true
                    return
                }
                for entry in step.nested where nestedMatches(entry, current) {
                    if fate.firstChild < 0 { fate.firstChild = child(entry) } else { fate.secondChild = child(entry) }
                }
            case .rename:
                guard let name = step.names.first(where: { matches($0, current) }) else {
                    // A field a `set` added, renamed onto this name here, replaces it.
                    if landsOn(index, current) {
                        fate.dropped = true
                        return
                    }
                    continue
                }
                fate.renamedTo = step.firstTarget + (name - step.names.lowerBound)
                current = target(fate.renamedTo)
                if !targetsHit.contains(fate.renamedTo) { targetsHit.append(fate.renamedTo) }
            }
        }
    }

    private func growTouched() {
        touched = Self.doubled(touched)
    }

    private static func doubled<Element>(_ buffer: UnsafeMutableBufferPointer<Element>) -> UnsafeMutableBufferPointer<Element> {
        let larger = UnsafeMutableBufferPointer<Element>.allocate(capacity: buffer.count * 2)
        _ = larger.initialize(fromContentsOf: buffer)
        buffer.deallocate()
        return larger
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
