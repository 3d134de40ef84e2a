/// Splits an expression into tokens, each with its column.
struct ExpressionLexer {
    enum Token: Equatable {
        case identifier(String)
        case string(String)
        case number(Double)
        case regex(source: String, flags: String)
        case symbol(String)  // == != < <= > >= =~ !~ ( ) ,
        case end
    }

    struct Located: Equatable {
        let token: Token
        let column: Int
    }

    static func tokens(_ text: String) throws(ExpressionError) -> [Located] {
        let characters = Array(text)
        var index = 0
        var result: [Located] = []
        func fail(_ message: String, at position: Int) -> ExpressionError {
            ExpressionError(message: message, column: position + 1, expression: text)
        }
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
                continue
            }
            let start = index
            switch character {
            case "\"", "'":
                index += 1
                var value = ""
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    if next == "\\", index + 1 < characters.count {
                        let escaped = characters[index + 1]
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(escaped)
                        }
                        index += 2
                        continue
                    }
                    index += 1
                    if next == character {
                        closed = true
                        break
                    }
                    value.append(next)
                }
                guard closed else { throw fail("unterminated string", at: start) }
                result.append(Located(token: .string(value), column: start + 1))
            case "/" where result.last.map { [.symbol("=~"), .symbol("!~")].contains($0.token) } ?? false:
                index += 1
                var source = ""
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    if next == "\\", index + 1 < characters.count, characters[index + 1] == "/" {
                        source.append("/")
                        index += 2
                        continue
                    }
                    if next == "\\", index + 1 < characters.count {
                        source.append(next)
                        source.append(characters[index + 1])
                        index += 2
                        continue
                    }
                    index += 1
                    if next == "/" {
                        closed = true
                        break
                    }
                    source.append(next)
                }
                guard closed else { throw fail("unterminated regular expression", at: start) }
                var flags = ""
                while index < characters.count, characters[index].isLetter {
                    flags.append(characters[index])
                    index += 1
                }
                result.append(Located(token: .regex(source: source, flags: flags), column: start + 1))
            case "=", "!", "<", ">":
                let next = index + 1 < characters.count ? characters[index + 1] : " "
                let pair = String([character, next])
                if ["==", "!=", "<=", ">=", "=~", "!~"].contains(pair) {
                    result.append(Located(token: .symbol(pair), column: start + 1))
                    index += 2
                } else if character == "<" || character == ">" {
                    result.append(Located(token: .symbol(String(character)), column: start + 1))
                    index += 1
                } else if character == "!" {
                    result.append(Located(token: .identifier("not"), column: start + 1))
                    index += 1
                } else {
                    throw fail("a single = is not an operator (write ==)", at: start)
                }
            case "&", "|":
                guard index + 1 < characters.count, characters[index + 1] == character else {
                    throw fail("unexpected \(character) (write \(character == "&" ? "and" : "or"))", at: start)
                }
                result.append(Located(token: .identifier(character == "&" ? "and" : "or"), column: start + 1))
                index += 2
            case "(", ")", ",":
                result.append(Located(token: .symbol(String(character)), column: start + 1))
                index += 1
            case "-", "0"..."9":
                index += 1
                while index < characters.count, characters[index].isNumber || ".eE+-".contains(characters[index]) {
                    if "+-".contains(characters[index]), !"eE".contains(characters[index - 1]) { break }
                    index += 1
                }
                guard let value = Double(String(characters[start..<index])) else {
                    throw fail("\(String(characters[start..<index])) is not a number", at: start)
                }
                result.append(Located(token: .number(value), column: start + 1))
            default:
                guard character.isLetter || character == "_" || character == "@" else {
                    throw fail("unexpected \(character)", at: start)
                }
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || "_.@-".contains(characters[index]) {
                    index += 1
                }
                result.append(Located(token: .identifier(String(characters[start..<index])), column: start + 1))
            }
        }
        result.append(Located(token: .end, column: characters.count + 1))
        return result
    }
}
