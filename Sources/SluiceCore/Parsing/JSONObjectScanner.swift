#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A validating scanner for one-line JSON objects that records where each top-level field is,
/// without building any values.
///
/// It accepts exactly RFC 8259 JSON whose top level is an object, nested up to `maxDepth`
/// (deeper documents are rejected, never recursed into: the scanner keeps its own stack).
/// Input must already be valid UTF-8 (the framer's repair step guarantees it). Strings are
/// skipped by a quote index of the line where it has no backslash (`JSONQuoteIndex`).
public struct JSONObjectScanner: ~Copyable {
    public enum ValueKind: UInt8, Sendable {
        case string, number, object, array, boolean, null
        /// An unquoted text value (logfmt's bare values); never produced for JSON.
        case bare
    }

    /// A top-level field; offsets are into the scanned line. The key range excludes the quotes
    /// and is raw (escapes are not decoded); the value range is the whole JSON value.
    public struct Field: Sendable {
        public let keyStart: Int32
        public let keyEnd: Int32
        public let valueStart: Int32
        public let valueEnd: Int32
        public let kind: ValueKind
    }

    public static let maxDepth = 512

    public private(set) var fields: [Field] = []
    /// Offsets of the object's content between its braces, trimmed of whitespace.
    public private(set) var innerStart = 0
    public private(set) var innerEnd = 0
    private let containerStack: UnsafeMutablePointer<UInt8>
    private var quotes = JSONQuoteIndex()
    private let indexesQuotes: Bool

    public init() {
        self.init(indexesQuotes: true)
    }

    /// `indexesQuotes: false` scans every string byte by byte, as lines with a backslash are
    /// (the tests compare the two ways).
    init(indexesQuotes: Bool) {
        self.indexesQuotes = indexesQuotes
        fields.reserveCapacity(32)
        containerStack = .allocate(capacity: Self.maxDepth)
    }

    deinit {
        containerStack.deallocate()
    }

    /// Whether `line` is one JSON object (surrounding whitespace allowed). On success `fields`
    /// lists its top-level fields in order.
    public mutating func scan(_ line: UnsafeRawBufferPointer) -> Bool {
        fields.removeAll(keepingCapacity: true)
        guard let base = line.baseAddress else { return false }
        var cursor = Cursor(base: base.assumingMemoryBound(to: UInt8.self), end: line.count)
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: "{")) else { return false }
        if indexesQuotes, quotes.build(cursor.base, count: cursor.end) == .invalid { return false }
        cursor.skipWhitespace()
        innerStart = cursor.index
        if cursor.take(UInt8(ascii: "}")) {
            innerEnd = innerStart
            return cursor.atEndAfterWhitespace()
        }
        while true {
            guard cursor.peek == UInt8(ascii: "\"") else { return false }
            let keyStart = cursor.index + 1
            guard skipString(&cursor) else { return false }
            let keyEnd = cursor.index - 1
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ":")) else { return false }
            cursor.skipWhitespace()
            let valueStart = cursor.index
            guard let kind = kindOfValue(startingWith: cursor.peek), skipValue(&cursor) else { return false }
            fields.append(Field(
                keyStart: Int32(keyStart), keyEnd: Int32(keyEnd),
                valueStart: Int32(valueStart), valueEnd: Int32(cursor.index), kind: kind
            ))
            innerEnd = cursor.index
            cursor.skipWhitespace()
            if cursor.take(UInt8(ascii: ",")) {
                cursor.skipWhitespace()
                continue
            }
            guard cursor.take(UInt8(ascii: "}")) else { return false }
            return cursor.atEndAfterWhitespace()
        }
    }

    private func kindOfValue(startingWith byte: UInt8) -> ValueKind? {
        switch byte {
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .boolean
        case UInt8(ascii: "n"): .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        default: nil
        }
    }

    /// Skips one complete value, validating it; nesting uses `containerStack`, not recursion.
    private func skipValue(_ cursor: inout Cursor) -> Bool {
        var depth = 0
        while true {
            // Expecting a value.
            switch cursor.peek {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < Self.maxDepth - 1 else { return false }
                let opener = cursor.peek
                containerStack[depth] = opener
                depth += 1
                cursor.index += 1
                cursor.skipWhitespace()
                let closer = opener == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if cursor.take(closer) {
                    depth -= 1
                    break
                }
                if opener == UInt8(ascii: "{") {
                    guard skipKey(&cursor) else { return false }
                }
                continue
            case UInt8(ascii: "\""):
                guard skipString(&cursor) else { return false }
            case UInt8(ascii: "t"):
                guard cursor.take(literal: "true") else { return false }
            case UInt8(ascii: "f"):
                guard cursor.take(literal: "false") else { return false }
            case UInt8(ascii: "n"):
                guard cursor.take(literal: "null") else { return false }
            default:
                guard cursor.skipNumber() else { return false }
            }
            // After a value: close containers or move to the next element.
            while true {
                if depth == 0 { return true }
                cursor.skipWhitespace()
                let container = containerStack[depth - 1]
                if cursor.take(UInt8(ascii: ",")) {
                    cursor.skipWhitespace()
                    if container == UInt8(ascii: "{") {
                        guard skipKey(&cursor) else { return false }
                    }
                    break
                }
                let closer = container == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                guard cursor.take(closer) else { return false }
                depth -= 1
            }
        }
    }

    /// `"key"` then `:` then whitespace, leaving the cursor at the value.
    private func skipKey(_ cursor: inout Cursor) -> Bool {
        guard cursor.peek == UInt8(ascii: "\""), skipString(&cursor) else { return false }
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: ":")) else { return false }
        cursor.skipWhitespace()
        return true
    }

    /// Skips a string starting at its opening quote: by the quote index when the line has one,
    /// otherwise byte by byte.
    @inline(__always)
    private func skipString(_ cursor: inout Cursor) -> Bool {
        guard quotes.isBuilt else { return cursor.skipString() }
        guard let closing = quotes.closingQuote(after: cursor.index) else { return false }
        cursor.index = closing + 1
        return true
    }
}

/// A position in a line being scanned. Reading past the end yields 0, which no rule accepts.
package struct Cursor {
    let base: UnsafePointer<UInt8>
    let end: Int
    package var index = 0

    package init(base: UnsafePointer<UInt8>, end: Int, index: Int = 0) {
        self.base = base
        self.end = end
        self.index = index
    }

    @inline(__always)
    var peek: UInt8 { index < end ? base[index] : 0 }

    @inline(__always)
    mutating func take(_ byte: UInt8) -> Bool {
        guard index < end, base[index] == byte else { return false }
        index += 1
        return true
    }

    @inline(__always)
    package mutating func skipWhitespace() {
        while index < end {
            switch base[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func atEndAfterWhitespace() -> Bool {
        skipWhitespace()
        return index == end
    }

    mutating func take(literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard index + length <= end, memcmp(base + index, literal.utf8Start, length) == 0 else { return false }
        index += length
        return true
    }

    /// Skips a string starting at its opening quote, validating escapes and rejecting raw
    /// control characters.
    @inline(__always)
    mutating func skipString() -> Bool {
        index += 1
        let raw = UnsafeRawPointer(base)
        while true {
            while index + 8 <= end, !SWAR.hasJSONSpecial(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
            guard index < end else { return false }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return true
            }
            if byte == UInt8(ascii: "\\") {
                guard skipEscape() else { return false }
                continue
            }
            if byte < 0x20 { return false }
            index += 1
        }
    }

    private mutating func skipEscape() -> Bool {
        guard index + 1 < end else { return false }
        switch base[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
            return true
        case UInt8(ascii: "u"):
            guard index + 6 <= end else { return false }
            for offset in 2..<6 where !base[index + offset].isHexDigit { return false }
            index += 6
            return true
        default:
            return false
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    mutating func skipNumber() -> Bool {
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            // A leading zero stands alone.
        } else {
            guard skipDigits() else { return false }
        }
        if take(UInt8(ascii: ".")) {
            guard skipDigits() else { return false }
        }
        if peek | 0x20 == UInt8(ascii: "e") {
            index += 1
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard skipDigits() else { return false }
        }
        return true
    }

    private mutating func skipDigits() -> Bool {
        let first = index
        while index < end, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") {
            index += 1
        }
        return index > first
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || (self | 0x20 >= UInt8(ascii: "a") && self | 0x20 <= UInt8(ascii: "f"))
    }
}
