/// Parses the expression language (see `Expression`), once, at startup; every error names
/// the column.
///
/// Precedence from loosest: `or`, `and`, `not`, then comparisons. The left of a comparison is a
/// field; the right is a value: a number, a quoted string, `true`, `false`, `null` or a level
/// name. A bare word on the right is an error (quote strings), so a misspelt level name or a
/// forgotten quote is caught at startup instead of never matching.
public enum ExpressionParser {
    /// How deep the expression's tree may be, whatever makes it deep: parentheses, `not` (or
    /// `!`), and each further term of an `and`/`or` chain (which nests to the left). Deeper
    /// expressions are refused at validation instead of overflowing the stack when they are
    /// compiled, evaluated or released.
    static let maximumDepth = 128

    public static func parse(_ text: String) throws(ExpressionError) -> Expression {
        var parser = Parser(tokens: try ExpressionLexer.tokens(text), text: text)
        let expression = try parser.parseOr(depth: 0)
        guard case .end = parser.current.token else {
            throw parser.error("unexpected \(parser.describe(parser.current.token)) after a complete expression")
        }
        return expression
    }

    private struct Parser {
        let tokens: [ExpressionLexer.Located]
        let text: String
        var position = 0

        var current: ExpressionLexer.Located { tokens[position] }

        func error(_ message: String, at located: ExpressionLexer.Located? = nil) -> ExpressionError {
            ExpressionError(message: message, column: (located ?? current).column, expression: text)
        }

        func describe(_ token: ExpressionLexer.Token) -> String {
            switch token {
            case .identifier(let name): "\"\(name)\""
            case .string(let value): "the string \"\(value)\""
            case .number(let value): "the number \(value)"
            case .regex(let source, _): "/\(source)/"
            case .symbol(let symbol): "\"\(symbol)\""
            case .end: "the end"
            }
        }

        mutating func advance() -> ExpressionLexer.Located {
            defer { position += 1 }
            return tokens[position]
        }

        func isKeyword(_ word: String) -> Bool {
            if case .identifier(let name) = current.token { return name == word }
            return false
        }

        func checkDepth(_ depth: Int) throws(ExpressionError) {
            guard depth < ExpressionParser.maximumDepth else {
                throw error("nested more than \(ExpressionParser.maximumDepth) deep (parentheses, not, and each and/or term count)")
            }
        }

        mutating func parseOr(depth: Int) throws(ExpressionError) -> Expression {
            try checkDepth(depth)
            var depth = depth
            var left = try parseAnd(depth: depth)
            while isKeyword("or") {
                _ = advance()
                depth += 1
                try checkDepth(depth)
                left = .or(left, try parseAnd(depth: depth))
            }
            return left
        }

        mutating func parseAnd(depth: Int) throws(ExpressionError) -> Expression {
            var depth = depth
            var left = try parseUnary(depth: depth)
            while isKeyword("and") {
                _ = advance()
                depth += 1
                try checkDepth(depth)
                left = .and(left, try parseUnary(depth: depth))
            }
            return left
        }

        mutating func parseUnary(depth: Int) throws(ExpressionError) -> Expression {
            if isKeyword("not") {
                _ = advance()
                try checkDepth(depth + 1)
                return .not(try parseUnary(depth: depth + 1))
            }
            return try parsePrimary(depth: depth)
        }

        mutating func parsePrimary(depth: Int) throws(ExpressionError) -> Expression {
            let start = current
            switch start.token {
            case .symbol("("):
                _ = advance()
                let inner = try parseOr(depth: depth + 1)
                guard current.token == .symbol(")") else { throw error("expected ) to close the ( at column \(start.column)") }
                _ = advance()
                return inner
            case .identifier("exists"):
                _ = advance()
                guard current.token == .symbol("(") else { throw error("expected ( after exists") }
                _ = advance()
                let path = try parseField()
                guard current.token == .symbol(")") else { throw error("expected ) after the field") }
                _ = advance()
                return .exists(path)
            case .identifier:
                let path = try parseField()
                return try parseComparison(path)
            case .end:
                throw error("expected a condition, such as level >= error")
            default:
                throw error("expected a field, exists(...), not or (, found \(describe(start.token))")
            }
        }

        mutating func parseField() throws(ExpressionError) -> FieldPath {
            let located = advance()
            guard case .identifier(let name) = located.token, !["and", "or", "not"].contains(name) else {
                throw error("expected a field name, found \(describe(located.token))", at: located)
            }
            let components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !components.contains(where: \.isEmpty) else { throw error("\"\(name)\" is not a field path", at: located) }
            return FieldPath(components)
        }

        mutating func parseComparison(_ path: FieldPath) throws(ExpressionError) -> Expression {
            let operatorToken = advance()
            guard case .symbol(let symbol) = operatorToken.token else {
                throw error("expected an operator (==, !=, <, <=, >, >=, =~, !~) after \(path), found \(describe(operatorToken.token))", at: operatorToken)
            }
            if symbol == "=~" || symbol == "!~" {
                let regexToken = advance()
                guard case .regex(let source, let flags) = regexToken.token else {
                    throw error("expected a regular expression such as /timeout|refused/i after \(symbol)", at: regexToken)
                }
                return .match(path, try compileRegex(source, flags: flags, at: regexToken), negated: symbol == "!~")
            }
            guard let op = ComparisonOperator(rawValue: symbol) else {
                throw error("expected an operator after \(path), found \(describe(operatorToken.token))", at: operatorToken)
            }
            let valueToken = advance()
            let literal: Literal
            switch valueToken.token {
            case .number(let value): literal = .number(value)
            case .string(let value): literal = EventLevel(name: value).map(Literal.level).flatMap { path.isLevel ? $0 : nil } ?? .string(value)
            case .identifier("true"): literal = .boolean(true)
            case .identifier("false"): literal = .boolean(false)
            case .identifier("null"): literal = .null
            case .identifier(let word):
                guard let level = EventLevel(name: word) else {
                    throw error("\(word) is not a value: quote strings (\"\(word)\"); levels are trace, debug, info, warn, error, fatal", at: valueToken)
                }
                literal = .level(level)
            default:
                throw error("expected a value after \(symbol), found \(describe(valueToken.token))", at: valueToken)
            }
            return .compare(path, op, literal)
        }

        func compileRegex(_ source: String, flags: String, at located: ExpressionLexer.Located) throws(ExpressionError) -> RegexLiteral {
            var options: Pattern.Options = []
            for flag in flags {
                switch flag {
                case "i": options.insert(.caseInsensitive)
                case "m": options.insert(.multiline)
                case "s": options.insert(.dotMatchesNewlines)
                case "x": options.insert(.extended)
                default: throw error("unknown regex flag \(flag) (flags: i, m, s, x)", at: located)
                }
            }
            do {
                let pattern = try Pattern(source, options: options)
                return RegexLiteral(pattern: pattern, requiredLiteral: RegexPrefilter.requiredLiteral(in: source, options: options))
            } catch {
                throw self.error("\(error.reason) in /\(source)/", at: located)
            }
        }
    }
}
