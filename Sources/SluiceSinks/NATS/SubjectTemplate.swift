public import SluiceCore

/// A `nats` sink's subject: literal tokens and placeholders, `{source}` (the source's name) or
/// `{field.path}` (a field of the event). A placeholder's value becomes one subject token:
/// characters other than letters, digits, `-` and `_` become `_` (a `.` would add tokens, `*` and
/// `>` are wildcards), and an absent or empty value is `unknown`.
public struct SubjectTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case source
        case field([[UInt8]])
    }

    let parts: [Part]
    public let text: String

    public init(_ text: String) throws(TemplateError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { throw TemplateError(message: "has a { without its }") }
            let name = rest[rest.index(after: open)..<close]
            guard !name.isEmpty else { throw TemplateError(message: "has an empty {}") }
            parts.append(name == "source" ? .source : .field(name.split(separator: ".").map { Array($0.utf8) }))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        let literal = parts.compactMap { if case .literal(let text) = $0 { text } else { nil } }.joined()
        guard !text.isEmpty else { throw TemplateError(message: "is empty") }
        if literal.contains(where: { $0 == " " || $0 == "\t" || $0 == "*" || $0 == ">" || $0 == "}" }) {
            throw TemplateError(message: "must be a subject to publish to: no spaces, and no wildcards (* or >)")
        }
        if text.hasPrefix(".") || text.hasSuffix(".") || text.contains("..") {
            throw TemplateError(message: "has an empty token (a leading, trailing or doubled .)")
        }
        self.parts = parts
        self.text = text
    }

    /// Whether the subject depends on the event (not only on its source).
    public var readsFields: Bool { parts.contains { if case .field = $0 { true } else { false } } }

    /// The subject of `record`, read by source `source`.
    public func render(_ record: EventRecord, source: String) -> String {
        var subject = ""
        for part in parts {
            switch part {
            case .literal(let text): subject += text
            case .source: subject += Self.token(source)
            case .field(let path):
                let value = JSONLookup.value(atPath: path, inObject: record.json).map {
                    JSONLookup.text(of: UnsafeRawBufferPointer(rebasing: record.json[$0]))
                }
                subject += Self.token(value ?? "")
            }
        }
        return subject
    }

    static func token(_ value: String) -> String {
        guard !value.isEmpty else { return "unknown" }
        let allowed = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        if value.utf8.allSatisfy(allowed) { return value }
        return String(decoding: value.utf8.map { allowed($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }
}
