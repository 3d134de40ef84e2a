import SluiceCore
/// Applies the reshaping steps that look inside values (`redact`, `parse_json`) to one event's
/// JSON object (`remove`, `rename` and `set` are `FieldShaper`'s). A step that changes nothing writes nothing; one that does writes the
/// whole new object into `output`. One per thread: its buffers are never shared, so their
/// accesses skip the runtime's exclusivity checks (`@exclusivity(unchecked)`).
final class EventEditor {
    @exclusivity(unchecked) var output = ByteWriter(capacity: 4096)
    @exclusivity(unchecked) private var scanner = JSONObjectScanner()
    @exclusivity(unchecked) private var unescaped = ByteWriter(capacity: 1024)
    @exclusivity(unchecked) private var redacted = ByteWriter(capacity: 1024)
    @exclusivity(unchecked) private var parsed = JSONObjectScanner()
    @exclusivity(unchecked) private var wrapped = ByteWriter(capacity: 1024)

    /// `redact` with `redactor`; true when `output` now holds the changed event.
    func redact(_ event: UnsafeRawBufferPointer, using redactor: Redactor) -> Bool {
        output.removeAll()
        return redact(event, with: redactor)
    }

    /// `parse_json` of the field `name` (as bytes); true when `output` now holds the changed
    /// event.
    func parseJSON(field name: [UInt8], in event: UnsafeRawBufferPointer) -> Bool {
        output.removeAll()
        return parseJSON(name, in: event)
    }

    // MARK: parse_json

    private func parseJSON(_ name: [UInt8], in event: UnsafeRawBufferPointer) -> Bool {
        guard scanner.scan(event),
              let field = scanner.fields.first(where: { $0.kind == .string && event[Int($0.keyStart)..<Int($0.keyEnd)].elementsEqual(name) }) else {
            return false
        }
        let content = UnsafeRawBufferPointer(rebasing: event[(Int(field.valueStart) + 1)..<(Int(field.valueEnd) - 1)])
        unescaped.removeAll()
        JSONLookup.unescape(content, into: &unescaped)
        // Valid JSON only, checked by the scanner that reads events: the text wrapped as a field.
        wrapped.removeAll()
        wrapped.append(#"{"v":"#)
        wrapped.append(unescaped.bytes)
        wrapped.append(UInt8(ascii: "}"))
        var start = 0
        JSONWalk.skipWhitespace(unescaped.bytes, &start)
        guard start < unescaped.count, unescaped.bytes[start] == UInt8(ascii: "{") || unescaped.bytes[start] == UInt8(ascii: "["),
              parsed.scan(wrapped.bytes), parsed.fields.count == 1 else { return false }
        output.append(UnsafeRawBufferPointer(rebasing: event[0..<Int(field.valueStart)]))
        output.append(UnsafeRawBufferPointer(rebasing: wrapped.bytes[Int(parsed.fields[0].valueStart)..<Int(parsed.fields[0].valueEnd)]))
        output.append(UnsafeRawBufferPointer(rebasing: event[Int(field.valueEnd)...]))
        return true
    }

    // MARK: redact

    /// Walks every value of the event; strings in the selected fields are redacted, and a
    /// field named like a secret has its value replaced. Untouched stretches are copied as they
    /// are, so the event keeps its layout.
    private func redact(_ event: UnsafeRawBufferPointer, with redactor: Redactor) -> Bool {
        var walk = RedactionWalk(event: event, redactor: redactor)
        var index = 0
        JSONWalk.skipWhitespace(event, &index)
        walk.value(at: &index, selected: true, topLevel: true, editor: self)
        guard walk.copied > 0 else { return false }
        output.append(UnsafeRawBufferPointer(rebasing: event[walk.copied...]))
        return true
    }

    /// Replaces `range` of the event with `bytes` (ranges come in order).
    fileprivate func replace(_ range: Range<Int>, of event: UnsafeRawBufferPointer, copied: inout Int, with bytes: UnsafeRawBufferPointer) {
        output.append(UnsafeRawBufferPointer(rebasing: event[copied..<range.lowerBound]))
        output.append(bytes)
        copied = range.upperBound
    }

    /// The string at `range` (quotes included), redacted and re-quoted in `redacted`; false when
    /// nothing in it matched.
    fileprivate func redactString(_ range: Range<Int>, of event: UnsafeRawBufferPointer, escaped: Bool, with redactor: Redactor) -> Bool {
        var content = UnsafeRawBufferPointer(rebasing: event[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if escaped {
            unescaped.removeAll()
            JSONLookup.unescape(content, into: &unescaped)
            content = unescaped.bytes
        }
        wrapped.removeAll()
        guard redactor.redact(content, into: &wrapped) else { return false }
        redacted.removeAll()
        redacted.append(UInt8(ascii: "\""))
        redacted.appendJSONStringContent(wrapped.bytes)
        redacted.append(UInt8(ascii: "\""))
        return true
    }

    fileprivate var redactedBytes: UnsafeRawBufferPointer { redacted.bytes }
}

/// One walk of an event for `redact`: where the copying has got to (0: nothing replaced yet).
private struct RedactionWalk {
    let event: UnsafeRawBufferPointer
    let redactor: Redactor
    var copied = 0

    mutating func value(at index: inout Int, selected: Bool, topLevel: Bool, editor: EventEditor) {
        guard index < event.count else { return }
        switch event[index] {
        case UInt8(ascii: "\""):
            let start = index
            let escaped = JSONWalk.skipString(event, &index)
            if selected, editor.redactString(start..<index, of: event, escaped: escaped, with: redactor) {
                editor.replace(start..<index, of: event, copied: &copied, with: editor.redactedBytes)
            }
        case UInt8(ascii: "{"):
            index += 1
            while let keyRange = JSONWalk.memberKey(event, &index) {
                let key = UnsafeRawBufferPointer(rebasing: event[keyRange])
                let fieldSelected = topLevel ? redactor.selects(key) : selected
                if fieldSelected, redactor.isSecretKey(key), index < event.count, event[index] != UInt8(ascii: "{"), event[index] != UInt8(ascii: "[") {
                    let start = index
                    JSONWalk.skipValue(event, &index)
                    redactor.quotedReplacement.withUnsafeBytes { editor.replace(start..<index, of: event, copied: &copied, with: $0) }
                } else {
                    value(at: &index, selected: fieldSelected, topLevel: false, editor: editor)
                }
                JSONWalk.skipWhitespace(event, &index)
                if index < event.count, event[index] == UInt8(ascii: ",") { index += 1 } else { break }
            }
            index += 1
        case UInt8(ascii: "["):
            index += 1
            while index < event.count {
                JSONWalk.skipWhitespace(event, &index)
                guard index < event.count, event[index] != UInt8(ascii: "]") else { break }
                value(at: &index, selected: selected, topLevel: false, editor: editor)
                JSONWalk.skipWhitespace(event, &index)
                if index < event.count, event[index] == UInt8(ascii: ",") { index += 1 } else { break }
            }
            index += 1
        default:
            JSONWalk.skipValue(event, &index)
        }
    }
}
