#if canImport(Glibc)
import Glibc
#endif

/// An archive path template: strftime fields (UTC) and `{source}` / `{host}`.
///
/// Time fields name files in one of two ways, told apart by the finest field used:
/// - by period (`%Y/%m/%d/{source}.ndjson.gz`, or up to `%H`): when the template rendered at the
///   current time differs from the open file's path, the file rotates (at midnight, on the hour);
/// - by start time (the template uses minutes or seconds: `%M`, `%S`, `%T`, `%s`, ...): the file
///   is named when it opens and rotates only by size and age.
public struct PathTemplate: Sendable, Equatable {
    public let template: String
    public let rotatesOnPathChange: Bool
    public let usesSource: Bool

    static let startTimeFields: Set<Character> = ["M", "S", "s", "T", "R", "r", "c", "X", "N"]

    public init(_ template: String) throws(TemplateError) {
        guard !template.isEmpty, !template.hasSuffix("/") else {
            throw TemplateError(message: "must name a file, such as /var/log/sluice/{source}-%Y%m%dT%H%M%S.ndjson.gz")
        }
        var fields: Set<Character> = []
        var iterator = template.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else { continue }
            guard let field = iterator.next() else { throw TemplateError(message: "ends with a lone %") }
            if field != "%" { fields.insert(field) }
        }
        let placeholders = Self.placeholders(in: template)
        if let unknown = placeholders.first(where: { !["source", "host"].contains($0) }) {
            throw TemplateError(message: "{\(unknown)} is not a known field (use {source} or {host})")
        }
        self.template = template
        usesSource = placeholders.contains("source")
        rotatesOnPathChange = !fields.isEmpty && fields.isDisjoint(with: Self.startTimeFields)
    }

    /// The path for `source` at `milliseconds` (UTC).
    public func render(source: String, host: String, atMilliseconds milliseconds: Int64) -> String {
        let filled = template.replacing("{source}", with: Self.safe(source)).replacing("{host}", with: Self.safe(host))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = strftime(&buffer, buffer.count, filled, &parts)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `name` (a file in the rendered directory) is one this template made for `source`,
    /// collision suffix (`-1`, `-2`, ...) allowed.
    public func matchesFileName(_ name: String, source: String, host: String) -> Bool {
        let base = template.split(separator: "/").last.map(String.init) ?? template
        let filled = base.replacing("{source}", with: Self.safe(source)).replacing("{host}", with: Self.safe(host))
        return Self.glob(filled, matches: name) || Self.glob(filled, matches: ArchiveFileName.removingCollisionSuffix(name))
    }

    private static func safe(_ value: String) -> String {
        value.replacing("/", with: "_").replacing("%", with: "%%")
    }

    private static func placeholders(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// strftime fields match any run of characters; `%%` matches `%`.
    private static func glob(_ pattern: String, matches name: String) -> Bool {
        var segments: [String] = [""]
        var iterator = pattern.makeIterator()
        while let character = iterator.next() {
            if character == "%", let field = iterator.next() {
                if field == "%" { segments[segments.count - 1].append("%") } else { segments.append("") }
            } else {
                segments[segments.count - 1].append(character)
            }
        }
        guard name.hasPrefix(segments[0]) else { return false }
        var rest = Substring(name.dropFirst(segments[0].count))
        for (index, segment) in segments.enumerated().dropFirst() {
            if index == segments.count - 1 { return rest.hasSuffix(segment) }
            guard let found = rest.firstRange(of: segment) else { return false }
            rest = rest[found.upperBound...]
        }
        return rest.isEmpty
    }
}

public struct TemplateError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Archive file names: the collision suffix goes before the extension
/// (`app-20240601T000000-1.ndjson.gz`), so a name never overwrites an existing file.
enum ArchiveFileName {
    static let innerExtensions: Set<String> = ["ndjson", "json", "jsonl", "log", "txt"]

    static func withCollisionSuffix(_ path: String, number: Int) -> String {
        let (stem, extensions) = split(path)
        return "\(stem)-\(number)\(extensions)"
    }

    static func removingCollisionSuffix(_ name: String) -> String {
        let (stem, extensions) = split(name)
        guard let dash = stem.lastIndex(of: "-"), stem[stem.index(after: dash)...].allSatisfy(\.isNumber),
              stem.index(after: dash) < stem.endIndex else { return name }
        return String(stem[..<dash]) + extensions
    }

    /// `dir/app.ndjson.gz` → (`dir/app`, `.ndjson.gz`).
    private static func split(_ path: String) -> (String, String) {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        var stem = String(path[slash...])
        var extensions = ""
        if stem.hasSuffix(".gz") {
            stem.removeLast(3)
            extensions = ".gz"
            if let dot = stem.lastIndex(of: "."), innerExtensions.contains(String(stem[stem.index(after: dot)...])) {
                extensions = String(stem[dot...]) + extensions
                stem = String(stem[..<dot])
            }
        } else if let dot = stem.lastIndex(of: "."), dot != stem.startIndex {
            extensions = String(stem[dot...])
            stem = String(stem[..<dot])
        }
        return (String(path[..<slash]) + stem, extensions)
    }
}
