/// `${VAR}` interpolation of configuration values from the environment.
///
/// - `${VAR}`: the variable's value; an error when it is unset.
/// - `${VAR:-default}`: the default when the variable is unset or empty (`${VAR-default}`: only
///   when unset).
/// - `${VAR:?message}`: an error carrying `message` when the variable is unset or empty.
/// - `$$` is a literal `$`. A `$` not followed by `{` or `$` is kept as it is, so regex
///   references such as `$1` survive either way.
public enum Interpolation {
    public struct Failure: Error, Equatable {
        public let variable: String
        public let message: String
    }

    public static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        var output = ""
        var failure: Failure?
        scan(text) { piece in
            switch piece {
            case .text(let text):
                output += text
            case .reference(let body):
                switch substitute(body, environment: environment) {
                case .success(let value): output += value
                case .failure(let problem): failure = problem
                }
            }
            return failure == nil
        }
        return failure.map { .failure($0) } ?? .success(output)
    }

    /// The variables `text` refers to (`${NAME}`, `${NAME:-default}`, ...), in order.
    public static func variableNames(in text: String) -> [String] {
        var names: [String] = []
        scan(text) { piece in
            if case .reference(let body) = piece {
                let name = operators.compactMap { body.firstRange(of: $0).map { String(body[..<$0.lowerBound]) } }
                    .first(where: isVariableName) ?? body
                if isVariableName(name) { names.append(name) }
            }
            return true
        }
        return names
    }

    private enum Piece {
        case text(String)
        /// What stands between `${` and `}`.
        case reference(String)
    }

    private static let operators = [":-", ":?", "-", "?"]

    /// Splits `text` into literal text and references, in order, until `visit` returns false.
    private static func scan(_ text: String, _ visit: (Piece) -> Bool) {
        guard text.contains("$") else {
            _ = visit(.text(text))
            return
        }
        var index = text.startIndex
        var literal = ""
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                literal.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                literal.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{", let close = text[next...].firstIndex(of: "}") else {
                literal.append(character)
                index = next
                continue
            }
            guard visit(.text(literal)), visit(.reference(String(text[text.index(after: next)..<close]))) else { return }
            literal = ""
            index = text.index(after: close)
        }
        _ = visit(.text(literal))
    }

    private static func substitute(_ body: String, environment: [String: String]) -> Result<String, Failure> {
        for op in operators {
            guard let range = body.firstRange(of: op) else { continue }
            let name = String(body[..<range.lowerBound])
            guard isVariableName(name) else { continue }
            let argument = String(body[range.upperBound...])
            let value = environment[name]
            let missing = op.hasPrefix(":") ? (value ?? "").isEmpty : value == nil
            if !missing { return .success(value ?? "") }
            if op.hasSuffix("-") { return .success(argument) }
            let message = argument.isEmpty ? "environment variable \(name) is not set" : argument
            return .failure(Failure(variable: name, message: message))
        }
        guard isVariableName(body) else {
            return .failure(Failure(variable: body, message: "\"${\(body)}\" is not a valid variable reference"))
        }
        guard let value = environment[body] else {
            return .failure(Failure(variable: body, message: "environment variable \(body) is not set and has no default (write ${\(body):-default})"))
        }
        return .success(value)
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
