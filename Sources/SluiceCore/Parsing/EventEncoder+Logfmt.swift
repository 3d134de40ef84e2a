#if canImport(Glibc)
import Glibc
#endif

extension EventEncoder {
    /// `key=value` pairs as string fields (`true` for a key without value); the first of
    /// repeated keys wins.
    mutating func encodeLogfmt(_ text: UnsafeRawBufferPointer, into batch: inout EventBatchBuilder) {
        let fields = logfmt.fields
        let known = KnownFields.find(in: fields, text: text, metadata: metadataForFields)
        let timestamp = known.timestamp(in: text)
        let (level, writeLevel) = known.level(in: text)
        var needsComma = openObject(known, timestamp: timestamp, level: level, writeLevel: writeLevel, into: &batch)
        let base = text.baseAddress!
        for (position, field) in fields.enumerated() {
            let key = UnsafeRawBufferPointer(start: base + Int(field.keyStart), count: Int(field.keyEnd - field.keyStart))
            if Self.isRepeated(key, before: position, in: fields, base: base) { continue }
            if needsComma { batch.ndjson.append(UInt8(ascii: ",")) }
            needsComma = true
            batch.ndjson.appendJSONString(key)
            batch.ndjson.append(UInt8(ascii: ":"))
            let value = UnsafeRawBufferPointer(start: base + Int(field.valueStart), count: Int(field.valueEnd - field.valueStart))
            switch field.kind {
            case .boolean:
                batch.ndjson.append("true")
            case .string:
                let content = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
                if content.contains(UInt8(ascii: "\\")) {
                    scratch.removeAll()
                    JSONLookup.unescape(content, into: &scratch)
                    batch.ndjson.appendJSONString(scratch.bytes)
                } else {
                    batch.ndjson.appendJSONString(content)
                }
            default:
                batch.ndjson.appendJSONString(value)
            }
        }
        closeObject(metadataForFields, collisions: known.metadataCollisions, into: &batch)
        batch.endEvent(level: level, timestampMilliseconds: timestamp ?? readTimeMilliseconds)
    }

    private static func isRepeated(_ key: UnsafeRawBufferPointer, before position: Int, in fields: [JSONObjectScanner.Field], base: UnsafeRawPointer) -> Bool {
        for earlier in fields[0..<position] where Int(earlier.keyEnd - earlier.keyStart) == key.count {
            if memcmp(base + Int(earlier.keyStart), key.baseAddress!, key.count) == 0 { return true }
        }
        return false
    }
}
