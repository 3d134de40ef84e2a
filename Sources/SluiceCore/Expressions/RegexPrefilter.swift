/// Finds a literal that every match of a regex must contain, so most non-matching values are
/// rejected by a byte search before the regex runs.
enum RegexPrefilter {
    /// The longest run of literal characters at the top level of `source` (outside groups and
    /// classes, not made optional by a quantifier); nil when there is an alternation at the top
    /// level, the match is case-insensitive or extended, or no run is at least 3 bytes.
    static func requiredLiteral(in source: String, options: Pattern.Options) -> [UInt8]? {
        guard options.isDisjoint(with: [.caseInsensitive, .extended]) else { return nil }
        let characters = Array(source.unicodeScalars)
        var best: [UInt8] = []
        var run: [UInt8] = []
        var depth = 0
        var index = 0
        func endRun() {
            if run.count > best.count { best = run }
            run = []
        }
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : " "
            let quantified = "?*{".unicodeScalars.contains(next)
            switch character {
            case "\\":
                guard index + 1 < characters.count else { return nil }
                let escaped = characters[index + 1]
                let afterEscape = index + 2 < characters.count ? characters[index + 2] : " "
                if depth == 0, ".\\/()[]{}|?*+^$-".unicodeScalars.contains(escaped), !"?*{".unicodeScalars.contains(afterEscape) {
                    run.append(contentsOf: Array(String(escaped).utf8))
                } else {
                    endRun()
                }
                index += 2
                continue
            case "|" where depth == 0:
                return nil
            case "(", "[":
                depth += 1
                endRun()
            case ")", "]":
                depth = max(0, depth - 1)
                endRun()
            case ".", "^", "$", "+", "?", "*", "{", "}", "|":
                endRun()
            default:
                if depth == 0 && !quantified {
                    run.append(contentsOf: Array(String(character).utf8))
                } else {
                    endRun()
                }
            }
            index += 1
        }
        endRun()
        return best.count >= 3 ? best : nil
    }
}
