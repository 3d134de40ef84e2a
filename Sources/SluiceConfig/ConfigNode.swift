/// Where a configuration value came from, for error messages.
public struct ConfigOrigin: Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var environmentVariable: String?

    public init(file: String? = nil, line: Int? = nil, environmentVariable: String? = nil) {
        self.file = file
        self.line = line
        self.environmentVariable = environmentVariable
    }

    public static let builtIn = ConfigOrigin()

    public var description: String {
        if let environmentVariable { return "environment variable \(environmentVariable)" }
        guard let file else { return "built-in default" }
        guard let line else { return file }
        return "\(file):\(line)"
    }
}

/// A configuration document after loading: maps keep their order, scalars stay text until a
/// typed reader interprets them, and every node remembers where it came from.
public indirect enum ConfigNode: Sendable {
    case map([(key: String, value: ConfigNode)], ConfigOrigin)
    case list([ConfigNode], ConfigOrigin)
    case scalar(String, ConfigOrigin)
    case null(ConfigOrigin)

    public var origin: ConfigOrigin {
        switch self {
        case .map(_, let origin), .list(_, let origin), .scalar(_, let origin), .null(let origin): origin
        }
    }

    public static var emptyMap: ConfigNode { .map([], .builtIn) }

    /// The entries of a map node; nil for anything else.
    public var entries: [(key: String, value: ConfigNode)]? {
        if case .map(let entries, _) = self { return entries }
        return nil
    }

    public subscript(key: String) -> ConfigNode? {
        entries?.last(where: { $0.key == key })?.value
    }

    /// What kind of value this is, for type errors.
    var kindDescription: String {
        switch self {
        case .map: "a map"
        case .list: "a list"
        case .scalar(let text, _): "\"\(text)\""
        case .null: "null"
        }
    }

    /// `overlay` merged over `self`: maps merge key by key, recursively; anything else in the
    /// overlay replaces what was there (lists included).
    public func merged(with overlay: ConfigNode) -> ConfigNode {
        guard case .map(let baseEntries, let baseOrigin) = self, case .map(let overlayEntries, _) = overlay else {
            return overlay
        }
        var result = baseEntries
        for (key, value) in overlayEntries {
            if let index = result.firstIndex(where: { $0.key == key }) {
                result[index].value = result[index].value.merged(with: value)
            } else {
                result.append((key, value))
            }
        }
        return .map(result, baseOrigin)
    }
}
