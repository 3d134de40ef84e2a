/// Heroku / go-kit style `key=value` lines: bare values, double-quoted values with backslash
/// escapes, and keys without a value (`debug`), which read as `true`.
///
/// Fields are recorded as `JSONObjectScanner.Field`s over the line: a quoted value's range
/// includes its quotes (kind `.string`), a bare value's does not (kind `.bare`), and a key
/// without value has an empty range (kind `.boolean`).
struct LogfmtParser {
    private(set) var fields: [JSONObjectScanner.Field] = []

    init() {
        fields.reserveCapacity(32)
    }

    /// Whether the line is logfmt: well-formed, with at least one `key=value` pair.
    mutating func parse(_ line: UnsafeRawBufferPointer) -> Bool {
        fields.removeAll(keepingCapacity: true)
        var index = 0
        let count = line.count
        var sawPair = false
        while true {
            while index < count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
            guard index < count else { break }
            let keyStart = index
            while index < count, line[index] != 0x20, line[index] != 0x09,
                  line[index] != UInt8(ascii: "="), line[index] != UInt8(ascii: "\"") {
                index += 1
            }
            guard index > keyStart else { return false }
            let keyEnd = index
            if index < count, line[index] == UInt8(ascii: "=") {
                index += 1
                sawPair = true
                if index < count, line[index] == UInt8(ascii: "\"") {
                    let valueStart = index
                    index += 1
                    var closed = false
                    while index < count {
                        if line[index] == UInt8(ascii: "\\") {
                            index += 2
                            continue
                        }
                        index += 1
                        if line[index - 1] == UInt8(ascii: "\"") {
                            closed = true
                            break
                        }
                    }
                    guard closed, index <= count, index == count || line[index] == 0x20 || line[index] == 0x09 else { return false }
                    fields.append(field(keyStart, keyEnd, valueStart, index, .string))
                } else {
                    let valueStart = index
                    while index < count, line[index] != 0x20, line[index] != 0x09 { index += 1 }
                    fields.append(field(keyStart, keyEnd, valueStart, index, .bare))
                }
            } else {
                guard index >= count || line[index] != UInt8(ascii: "\"") else { return false }
                fields.append(field(keyStart, keyEnd, keyEnd, keyEnd, .boolean))
            }
        }
        return sawPair
    }

    private func field(_ keyStart: Int, _ keyEnd: Int, _ valueStart: Int, _ valueEnd: Int, _ kind: JSONObjectScanner.ValueKind) -> JSONObjectScanner.Field {
        JSONObjectScanner.Field(
            keyStart: Int32(keyStart), keyEnd: Int32(keyEnd), valueStart: Int32(valueStart), valueEnd: Int32(valueEnd), kind: kind
        )
    }
}
