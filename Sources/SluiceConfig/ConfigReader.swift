/// Typed, validated reading of one map of the configuration.
///
/// Every read of a key first looks for its environment override (`SLUICE_...`), then the
/// merged files, then uses the default; the value, with its default filled in, is recorded for
/// `sluice validate`. Problems are collected, not thrown, so one run reports all of them.
/// After reading a map, `rejectUnknownKeys()` reports every key that was not read, with the
/// nearest known key suggested.
public struct ConfigReader {
    public let path: [String]
    public let context: ConfigContext
    let node: ConfigNode?
    private let readKeys: KeyList
    /// When set (a disabled sink), unset `${VAR}`s read as empty instead of failing.
    let lenientInterpolation: Bool

    public init(root: ConfigNode, context: ConfigContext) {
        self.init(path: [], node: root, context: context, lenientInterpolation: false)
    }

    init(path: [String], node: ConfigNode?, context: ConfigContext, lenientInterpolation: Bool, readKeys: KeyList = KeyList()) {
        self.path = path
        self.readKeys = readKeys
        self.node = node
        self.context = context
        self.lenientInterpolation = lenientInterpolation
    }

    public var pathDescription: String { path.joined(separator: ".") }

    /// Whether the key is set in a file or the environment.
    public func contains(_ key: String) -> Bool {
        if context.environment[ConfigContext.variableName(for: path + [key])] != nil { return true }
        if case .null = node?[key] { return false }
        return node?[key] != nil
    }

    /// Keys present in this map (not the environment), in file order.
    public var presentKeys: [String] {
        node?.entries?.map(\.key) ?? []
    }

    /// The same map, reading unset `${VAR}`s as empty (for sections that will not be used).
    public func lenient() -> ConfigReader {
        ConfigReader(path: path, node: node, context: context, lenientInterpolation: true, readKeys: readKeys)
    }

    // MARK: Nesting

    /// A nested map; absent reads as empty.
    public func section(_ key: String) -> ConfigReader {
        readKeys.add(key)
        let child = node?[key]
        switch child {
        case .map, .none, .null:
            context.effective.recordSection(path + [key])
            return ConfigReader(path: path + [key], node: child, context: context, lenientInterpolation: lenientInterpolation)
        case .some(let other):
            report(key, "expected a map, found \(other.kindDescription)", origin: other.origin)
            return ConfigReader(path: path + [key], node: nil, context: context, lenientInterpolation: lenientInterpolation)
        }
    }

    /// A nested map when the key is present; nil (with the key still known, for suggestions)
    /// when it is absent.
    public func optionalSection(_ key: String) -> ConfigReader? {
        readKeys.add(key)
        guard contains(key) else { return nil }
        return section(key)
    }

    /// A map of user-named sections (`sources.<name>`, `sinks.<name>`), in file order.
    public func namedSections(_ key: String) -> [(name: String, reader: ConfigReader)] {
        let parent = section(key)
        return parent.presentKeys.compactMap { name in
            parent.readKeys.add(name)
            let child = parent.node?[name]
            switch child {
            case .map:
                return (name, ConfigReader(path: parent.path + [name], node: child, context: context, lenientInterpolation: lenientInterpolation))
            case .null, .none:
                return (name, ConfigReader(path: parent.path + [name], node: nil, context: context, lenientInterpolation: lenientInterpolation))
            case .some(let other):
                parent.report(name, "expected a map, found \(other.kindDescription)", origin: other.origin)
                return nil
            }
        }
    }

    /// A list whose items are maps (alert rules), each read with its own reader at
    /// `key.<index>`; nil when absent.
    public func list(ofMapsAt key: String) -> [ConfigReader]? {
        readKeys.add(key)
        switch node?[key] {
        case .none, .null:
            return nil
        case .list(let items, _):
            context.effective.recordSection(path + [key], isList: true)
            return items.enumerated().compactMap { index, item in
                guard case .map = item else {
                    report("\(key).\(index)", "expected a map, found \(item.kindDescription)", origin: item.origin)
                    return nil
                }
                return ConfigReader(path: path + [key, "\(index)"], node: item, context: context, lenientInterpolation: lenientInterpolation)
            }
        case .some(let other):
            report(key, "expected a list of maps, found \(other.kindDescription)", origin: other.origin)
            return nil
        }
    }

    /// Reports every key of this map that no reader asked for.
    public func rejectUnknownKeys() {
        for (key, value) in node?.entries ?? [] where !readKeys.contains(key) {
            var message = "unknown key"
            if let suggestion = NearestKey.suggestion(for: key, among: readKeys.all) {
                message += "; did you mean \"\(suggestion)\"?"
            } else if !readKeys.all.isEmpty {
                message += " (known keys: \(readKeys.all.joined(separator: ", ")))"
            }
            context.report(ConfigIssue(path: (path + [key]).joined(separator: "."), message: message, origin: value.origin))
        }
    }

    // MARK: Raw values

    /// The text of a scalar key from the environment or the files, interpolated; nil when absent.
    func scalar(_ key: String) -> (text: String, origin: ConfigOrigin)? {
        readKeys.add(key)
        let variable = context.lookupVariable(for: path + [key])
        if let value = variable.value {
            return (value, ConfigOrigin(environmentVariable: variable.name))
        }
        switch node?[key] {
        case .none, .null:
            return nil
        case .scalar(let text, let origin):
            switch Interpolation.expand(text, environment: context.environment) {
            case .success(let expanded):
                return (expanded, origin)
            case .failure(let failure):
                if lenientInterpolation { return ("", origin) }
                report(key, "\(failure.message) (variable \(failure.variable))", origin: origin)
                return nil
            }
        case .some(let other):
            report(key, "expected a single value, found \(other.kindDescription)", origin: other.origin)
            return nil
        }
    }

    /// The items of a list key: a YAML list of scalars, a single scalar, or (from the
    /// environment) comma-separated text.
    func list(_ key: String) -> [(text: String, origin: ConfigOrigin)]? {
        readKeys.add(key)
        let variable = context.lookupVariable(for: path + [key])
        if let value = variable.value {
            let origin = ConfigOrigin(environmentVariable: variable.name)
            return value.split(separator: ",").map { ($0.trimmingWhitespace, origin) }.filter { !$0.text.isEmpty }
        }
        switch node?[key] {
        case .none, .null:
            return nil
        case .list(let items, _):
            var result: [(String, ConfigOrigin)] = []
            for (index, item) in items.enumerated() {
                guard case .scalar(let text, let origin) = item else {
                    report("\(key).\(index)", "expected a single value, found \(item.kindDescription)", origin: item.origin)
                    continue
                }
                switch Interpolation.expand(text, environment: context.environment) {
                case .success(let expanded): result.append((expanded, origin))
                case .failure(let failure):
                    if !lenientInterpolation { report("\(key).\(index)", failure.message, origin: origin) }
                }
            }
            return result
        case .scalar:
            return scalar(key).map { [$0] }
        case .some(let other):
            report(key, "expected a list, found \(other.kindDescription)", origin: other.origin)
            return nil
        }
    }

    func report(_ key: String, _ message: String, origin: ConfigOrigin?) {
        context.report(ConfigIssue(path: (path + [key]).joined(separator: "."), message: message, origin: origin))
    }

    func record(_ key: String, _ value: String) {
        context.effective.record(path + [key], value)
    }
}

/// Keys read from one map, in order (a class so copies of a reader share it).
final class KeyList {
    private(set) var all: [String] = []
    private var set: Set<String> = []

    func add(_ key: String) {
        if set.insert(key).inserted { all.append(key) }
    }

    func contains(_ key: String) -> Bool { set.contains(key) }
}
