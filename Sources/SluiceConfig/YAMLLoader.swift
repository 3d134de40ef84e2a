import Foundation
import Yams

/// Reads YAML configuration files into `ConfigNode` trees that remember file and line.
/// Values are kept as written: `${VAR}` interpolation happens when a typed reader reads them.
public enum YAMLLoader {
    public static func load(file path: String) -> Result<ConfigNode, ConfigIssue> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigIssue(path: "", message: "cannot read configuration file \(path): \(String(cString: strerror(errno)))"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(ConfigIssue(path: "", message: "configuration file \(path) is not UTF-8 text"))
        }
        return parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) -> Result<ConfigNode, ConfigIssue> {
        if let issue = YAMLAliasLimits.check(text, file: file) { return .failure(issue) }
        let document: Node?
        do {
            // `.basic`: no implicit tags. Sluice reads every scalar as the text written and types
            // it itself (with errors naming the key); the default resolver would also compile
            // its tag regexes through Foundation and ICU at start-up, megabytes of code pages.
            document = try Yams.compose(yaml: text, .basic)
        } catch {
            return .failure(ConfigIssue(path: "", message: syntaxErrorMessage(error, file: file)))
        }
        guard let document else { return .success(.map([], ConfigOrigin(file: file))) }
        var issues: [ConfigIssue] = []
        var budget = YAMLAliasLimits.maxExpandedValues
        let node = convert(document, file: file, path: [], budget: &budget, issues: &issues)
        if let issue = issues.first { return .failure(issue) }
        guard case .map = node else {
            if case .null = node { return .success(.map([], ConfigOrigin(file: file))) }
            return .failure(ConfigIssue(path: "", message: "the top level of \(file) must be a map of sections (sources, sinks, ...)", origin: node.origin))
        }
        return .success(node)
    }

    /// - Parameter budget: values still allowed (aliases are expanded here, so a file of a few
    ///   lines can name billions); past it, the conversion stops with a problem.
    private static func convert(_ node: Node, file: String, path: [String], budget: inout Int, issues: inout [ConfigIssue]) -> ConfigNode {
        let origin = ConfigOrigin(file: file, line: node.mark?.line)
        budget -= 1
        guard budget >= 0 else {
            if budget == -1 {
                issues.append(ConfigIssue(
                    path: path.joined(separator: "."),
                    message: "the YAML expands to more than \(YAMLAliasLimits.maxExpandedValues) values once its aliases are expanded; Sluice refuses it", origin: origin
                ))
            }
            return .null(origin)
        }
        switch node {
        case .scalar(let scalar):
            let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
            return isNull ? .null(origin) : .scalar(scalar.string, origin)
        case .sequence(let sequence):
            return .list(sequence.enumerated().map { index, element in
                convert(element, file: file, path: path + ["\(index)"], budget: &budget, issues: &issues)
            }, origin)
        case .mapping(let mapping):
            var entries: [(key: String, value: ConfigNode)] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    issues.append(ConfigIssue(path: path.joined(separator: "."), message: "map keys must be plain text", origin: origin))
                    continue
                }
                entries.append((keyScalar.string, convert(value, file: file, path: path + [keyScalar.string], budget: &budget, issues: &issues)))
            }
            return .map(entries, origin)
        case .alias:
            issues.append(ConfigIssue(path: path.joined(separator: "."), message: "YAML aliases are not supported", origin: origin))
            return .null(origin)
        }
    }

    /// `file:line:column: YAML syntax error: problem (while parsing ... at line:column)`.
    static func syntaxErrorMessage(_ error: any Error, file: String) -> String {
        guard let error = error as? YamlError else {
            return "\(file): YAML syntax error: " + ("\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text), from line \($0.mark.line) column \($0.mark.column))" } ?? ""
            return "\(file):\(mark.line):\(mark.column): YAML syntax error: \(problem)\(during)"
        default:
            let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            return "\(file): YAML syntax error: \(text)"
        }
    }
}
