/// A parsed `where` filter or alert `when` condition.
///
/// The language: comparisons of a field with a value (`==`, `!=`, `<`, `<=`, `>`, `>=`), regex
/// matches (`field =~ /regex/flags`, `field !~ /.../`), `exists(field)`, `and`, `or`, `not`,
/// parentheses. Fields are dotted paths into the event (`ctx.region`, `log.level`). Values are
/// numbers, "strings", `true`, `false`, `null`, and the level names `trace < debug < info <
/// warn < error < fatal`.
public indirect enum Expression: Sendable, Equatable, CustomStringConvertible {
    case and(Expression, Expression)
    case or(Expression, Expression)
    case not(Expression)
    case exists(FieldPath)
    case compare(FieldPath, ComparisonOperator, Literal)
    case match(FieldPath, RegexLiteral, negated: Bool)

    /// Every field the expression reads.
    public var fields: [FieldPath] {
        switch self {
        case .and(let left, let right), .or(let left, let right): left.fields + right.fields
        case .not(let inner): inner.fields
        case .exists(let path), .compare(let path, _, _), .match(let path, _, _): [path]
        }
    }

    /// The sources of every regex the expression matches.
    public var regexSources: [String] {
        switch self {
        case .and(let left, let right), .or(let left, let right): left.regexSources + right.regexSources
        case .not(let inner): inner.regexSources
        case .match(_, let regex, _): [regex.pattern.source]
        case .exists, .compare: []
        }
    }

    public var description: String {
        switch self {
        case .and(let left, let right): "(\(left) and \(right))"
        case .or(let left, let right): "(\(left) or \(right))"
        case .not(let inner): "not \(inner)"
        case .exists(let path): "exists(\(path))"
        case .compare(let path, let op, let literal): "\(path) \(op.rawValue) \(literal)"
        case .match(let path, let regex, let negated): "\(path) \(negated ? "!~" : "=~") \(regex)"
        }
    }
}

public enum ComparisonOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
}

public enum Literal: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case boolean(Bool)
    case null
    case level(EventLevel)

    public var description: String {
        switch self {
        case .string(let text): "\"\(text)\""
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
        case .boolean(let value): "\(value)"
        case .null: "null"
        case .level(let level): "\(level.name)"
        }
    }
}

/// A dotted path into an event: `ctx.user.id` is `["ctx", "user", "id"]`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public init(_ components: [String]) {
        self.components = components
    }

    public var description: String { components.joined(separator: ".") }
    var isLevel: Bool { components == ["level"] }
}

/// `/source/flags`, compiled once.
public struct RegexLiteral: Sendable, Equatable, CustomStringConvertible {
    public let pattern: Pattern
    /// A substring every match contains, checked with a fast byte search first.
    public let requiredLiteral: [UInt8]?

    public static func == (lhs: RegexLiteral, rhs: RegexLiteral) -> Bool {
        lhs.pattern.source == rhs.pattern.source && lhs.pattern.options == rhs.pattern.options
    }

    public var description: String { "/\(pattern.source)/" }
}

/// A problem in an expression, with the column (1-based) where it was found.
public struct ExpressionError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public let column: Int
    public let expression: String

    public var description: String {
        "\(message) at column \(column): \(expression)\n" + String(repeating: " ", count: max(0, column - 1) + message.count + 14 + String(column).count) + "^"
    }

    /// The message and column on one line (for configuration errors).
    public var summary: String { "\(message) at column \(column)" }
}
