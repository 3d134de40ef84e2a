/// Finds the level of a plain line where log formats put one, and nowhere else: a wrong level
/// is worse than none, so ordinary words ("alert sent to ops", "all fine here") never count.
///
/// A level is recognised
/// - as `level=`/`lvl=`/`severity=`/`loglevel=` anywhere in the first 240 bytes (logfmt, logrus);
/// - at the start, or after what formats put before it: timestamps and numbers, month and day
///   names, time zones, bracketed parts (`[main]`, `[1234]`, `{app.py:12}`), separators (`-`,
///   `|`, `---`), `user@database`, a logger name followed by a separator (`app.db - ERROR`), a
///   syslog host and program (`web1 sshd[12]:`), a program or file prefix (`gcc: `, `main.c:3:1:`);
/// - there, as an upper-case level word (`ERROR`, `WARN`, `INFO:`, `DEBUG1:`, `LOG:`), a level word
///   in brackets in any single case (`[error]`, `<warn>`, `[core:error]`), or a lower-case or
///   capitalised one followed by a colon (`error:`, `Warning:`, .NET's `fail:`/`dbug:`);
/// - in the prefixes of glog/klog (`E1206 14:05:30.123`), Ruby's Logger (`E, [...]`) and
///   Python's default format (`WARNING:root:...`).
///
/// An exception or panic line is an error: `Traceback (most recent call last):`, `Exception in
/// thread ...`, `panic: `, `Unhandled exception.`, a name ending in `Error` or `Exception` before
/// a colon (`RuntimeError: ...`, `java.lang.IllegalStateException: ...`), Ruby's
/// `...:in 'm': message (SomeError)`; `fatal error: ` (Go's runtime) is fatal, and a name ending
/// in `Warning:` a warning. Measured against `Tests/Corpus/PlainLevels` (`PlainLevelCorpusTests`).
enum PlainLevelSniffer {
    static let examinedBytes = 240
    /// Tokens looked at before giving up.
    static let examinedTokens = 14

    static func level(in line: UnsafeRawBufferPointer) -> EventLevel {
        var end = min(line.count, examinedBytes)
        if let newline = line.firstOffset(of: 0x0A, to: end) { end = newline }
        guard end > 0 else { return .unknown }
        let text = UnsafeRawBufferPointer(rebasing: line[0..<end])
        if let level = exceptionPrefix(text) { return level }
        switch quickLevel(text) {
        case .found(let level): return level
        case .none: return .unknown
        case .undecided:
            if let level = exceptionName(firstWordOf: text) { return level }
            if let level = keyValueLevel(text) { return level }
            return prefixedLevel(text)
        }
    }

    private enum QuickVerdict {
        case found(EventLevel)
        case none
        case undecided
    }

    /// The common shapes at memory speed: bytes that prefixes are made of (digits, blanks,
    /// punctuation, brackets) are skipped in one loop, and the first word after them decides:
    /// a level word in its form is the level, a month, day or zone is skipped, a quote ends
    /// the prefix with no level (an access log's request). Anything else is left to the token
    /// scan (`prefixedLevel`), which knows names, program tags and the special prefixes.
    private static func quickLevel(_ text: UnsafeRawBufferPointer) -> QuickVerdict {
        var index = 0
        while true {
            index = text.endOfPrefixBytes(from: index)
            guard index < text.count else { return .none }
            let byte = text[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { return .none }
            guard isLetter(byte) else { return .undecided }
            var start = index
            while start > 0, isLetter(text[start - 1]) || isDigit(text[start - 1]) { start -= 1 }
            var end = index
            while end < text.count, isLetter(text[end]) || isDigit(text[end]) { end += 1 }
            let word = UnsafeRawBufferPointer(rebasing: text[start..<end])
            let wordCase = letterCase(word)
            if word.count >= 3, word.count <= 11, wordCase != .mixed {
                let colon = end < text.count && text[end] == UInt8(ascii: ":")
                let opened = start > 0 ? closingBracket(text[start - 1]) : nil
                var after = end
                while after < text.count, text[after] == 0x20 { after += 1 }
                if let opened, after < text.count, text[after] == opened {
                    if let level = wordCase == .upper ? upperCaseWords.level(of: word, lowercased: false) : bracketWords.level(of: word) {
                        return .found(level)
                    }
                } else if let level = levelWord(text, start..<end, colon: colon) {
                    return .found(level)
                }
            }
            guard word.count <= 4, calendarAndZoneWords.level(of: word, lowercased: false) != nil else { return .undecided }
            index = end
        }
    }

    /// A joined group's level when its first line has none: that of its first exception line
    /// (`Error: boom` after Node's `file.js:12` and source lines), else unknown.
    static func traceLevel(in group: UnsafeRawBufferPointer) -> EventLevel {
        var start = 0
        while let newline = group.firstOffset(of: 0x0A, from: start) {
            start = newline + 1
            let end = min(group.firstOffset(of: 0x0A, from: start) ?? group.count, start + examinedBytes)
            if let level = exceptionLine(UnsafeRawBufferPointer(rebasing: group[start..<end])) { return level }
        }
        return .unknown
    }

    // MARK: Tokens after the prefix

    private static func prefixedLevel(_ text: UnsafeRawBufferPointer) -> EventLevel {
        var cursor = 0
        var tokens = 0
        var tagSeen = false
        while tokens < examinedTokens, let token = nextToken(text, from: &cursor) {
            tokens += 1
            let first = text[token.lowerBound]
            if tokens == 1, let level = shortPrefixLevel(text, token, cursor: cursor) { return level }
            if let closing = closingBracket(first) {
                // A bracketed part: a level inside is the level; anything else is prefix.
                var inner = token.lowerBound + 1..<token.upperBound
                if let close = text[inner].firstIndex(of: closing) {
                    inner = token.lowerBound + 1..<close
                } else {
                    while tokens < examinedTokens, let more = nextToken(text, from: &cursor) {
                        tokens += 1
                        if text[more].contains(closing) { break }
                    }
                }
                if let level = bracketedLevel(text, inner) { return level }
                continue
            }
            var core = token
            var colon = false
            while core.count > 1 {
                let last = text[core.upperBound - 1]
                guard last == UInt8(ascii: ":") || last == UInt8(ascii: ",") || last == UInt8(ascii: "|") || last == UInt8(ascii: "!") else { break }
                if last == UInt8(ascii: ":") { colon = true }
                core = core.lowerBound..<(core.upperBound - 1)
            }
            if isLetter(first) {
                if let level = levelWord(text, core, colon: colon) { return level }
                if isUpperCaseLetter(first), let level = upperCaseBeforeColon(text, core) { return level }
                if colon, let level = exceptionName(text, core) { return level }
            }
            if isPrefix(text, token) { continue }
            if colon && !tagSeen && isProgramTag(text, core) {
                tagSeen = true
                continue
            }
            // A name before a separator (`app.db - ERROR`) or a syslog host before its program
            // tag (`web1 sshd[12]: error: ...`).
            if isName(text, token), let next = peekToken(text, from: cursor) {
                if isSeparator(text, next) { continue }
                // A tool's name before its upper-case level (`npm WARN`, `npm ERR!`).
                if token.count <= 12, letterCase(UnsafeRawBufferPointer(rebasing: text[token])) == .lower,
                   upperCaseWords.level(of: UnsafeRawBufferPointer(rebasing: text[next.lowerBound..<(next.upperBound - (text[next.upperBound - 1] == UInt8(ascii: "!") ? 1 : 0))]), lowercased: false) != nil {
                    continue
                }
                if !tagSeen, text[next.upperBound - 1] == UInt8(ascii: ":"), isProgramTag(text, next.lowerBound..<(next.upperBound - 1)) { continue }
            }
            return .unknown
        }
        return .unknown
    }

    /// A level word as the token is written: upper case anywhere in the prefix; lower case or
    /// capitalised only with a colon after it (`error:`, `Warning:`).
    private static func levelWord(_ text: UnsafeRawBufferPointer, _ range: Range<Int>, colon: Bool) -> EventLevel? {
        guard range.count >= 3, range.count <= 11 else { return nil }
        let word = UnsafeRawBufferPointer(rebasing: text[range])
        switch letterCase(word) {
        case .upper:
            if let level = upperCaseWords.level(of: word, lowercased: false) { return level }
            if colon, word.elementsEqual("LOG".utf8) { return .info }  // PostgreSQL
            return nil
        case .lower, .capitalised:
            return colon ? colonWords.level(of: word) : nil
        case .mixed:
            return nil
        }
    }

    /// Inside brackets: `[ERROR]`, `[error]`, `[Info ]`, `<warn>`, `[core:error]`.
    private static func bracketedLevel(_ text: UnsafeRawBufferPointer, _ inner: Range<Int>) -> EventLevel? {
        var range = inner
        var colon = range.upperBound
        while colon > range.lowerBound, text[colon - 1] != UInt8(ascii: ":") { colon -= 1 }
        if colon > range.lowerBound { range = colon..<range.upperBound }
        while let first = range.first, text[first] == 0x20 { range = range.dropFirst() }
        while let last = range.last, text[last] == 0x20 || text[last] == 0x09 { range = range.dropLast() }
        guard range.count >= 3, range.count <= 11 else { return nil }
        let word = UnsafeRawBufferPointer(rebasing: text[range])
        switch letterCase(word) {
        case .mixed: return nil
        case .upper: return upperCaseWords.level(of: word, lowercased: false)
        case .lower, .capitalised: return bracketWords.level(of: word)
        }
    }

    /// `WARNING:root:message` (Python's default format): an upper-case level before a colon.
    private static func upperCaseBeforeColon(_ text: UnsafeRawBufferPointer, _ range: Range<Int>) -> EventLevel? {
        guard let colon = text.firstOffset(of: UInt8(ascii: ":"), from: range.lowerBound, to: range.upperBound), colon > range.lowerBound else { return nil }
        let word = UnsafeRawBufferPointer(rebasing: text[range.lowerBound..<colon])
        guard word.count >= 3, word.count <= 11, letterCase(word) == .upper else { return nil }
        return upperCaseWords.level(of: word, lowercased: false)
    }

    /// glog/klog (`E1206 14:05:30.123456 ...`) and Ruby's Logger (`E, [2026-...]`) at the start.
    private static func shortPrefixLevel(_ text: UnsafeRawBufferPointer, _ token: Range<Int>, cursor: Int) -> EventLevel? {
        let letter = text[token.lowerBound]
        if token.count == 5, text[token.dropFirst()].allSatisfy(isDigit), let next = peekToken(text, from: cursor),
           text[next].contains(UInt8(ascii: ":")), text[next].allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) {
            switch letter {
            case UInt8(ascii: "I"): return .info
            case UInt8(ascii: "W"): return .warn
            case UInt8(ascii: "E"): return .error
            case UInt8(ascii: "F"): return .fatal
            default: return nil
            }
        }
        if token.count == 2, text[token.lowerBound + 1] == UInt8(ascii: ","), let next = peekToken(text, from: cursor),
           text[next.lowerBound] == UInt8(ascii: "[") {
            switch letter {
            case UInt8(ascii: "D"): return .debug
            case UInt8(ascii: "I"): return .info
            case UInt8(ascii: "W"): return .warn
            case UInt8(ascii: "E"): return .error
            case UInt8(ascii: "F"): return .fatal
            default: return nil
            }
        }
        return nil
    }

    // MARK: Exceptions

    private static func exceptionLine(_ text: UnsafeRawBufferPointer) -> EventLevel? {
        exceptionPrefix(text) ?? exceptionName(firstWordOf: text)
    }

    /// The fixed beginnings of exception and panic lines.
    private static func exceptionPrefix(_ text: UnsafeRawBufferPointer) -> EventLevel? {
        guard let first = text.first else { return nil }
        switch first {
        case UInt8(ascii: "T") where text.hasPrefix("Traceback (most recent call last):"): return .error
        case UInt8(ascii: "E") where text.hasPrefix("Exception in thread "): return .error
        case UInt8(ascii: "p") where text.hasPrefix("panic: "): return .error
        case UInt8(ascii: "U") where text.hasPrefix("Unhandled exception. ") || text.hasPrefix("Uncaught "): return .error
        case UInt8(ascii: "f") where text.hasPrefix("fatal error: "): return .fatal
        case 0x20, 0x09, UInt8(ascii: "+"):
            return text.droppingLeadingBlanks.hasPrefix("+ Exception Group Traceback (most recent call last):") ? .error : nil
        default: return nil
        }
    }

    /// A first word naming an exception: `RuntimeError: ...`, `java.lang.X: ...`, a qualified name
    /// alone on its line, or Ruby's `...:in 'm': message (SomeError)`.
    private static func exceptionName(firstWordOf text: UnsafeRawBufferPointer) -> EventLevel? {
        guard !text.isEmpty else { return nil }
        // Ruby: `/app/lib/billing.rb:12:in 'charge': card declined (Billing::CardError)`.
        if text[text.count - 1] == UInt8(ascii: ")"), text.contains(sequence: ":in `") || text.contains(sequence: ":in '") {
            var open = text.count - 1
            while open > 0, text[open] != UInt8(ascii: "(") { open -= 1 }
            let name = UnsafeRawBufferPointer(rebasing: text[(open + 1)..<(text.count - 1)])
            if name.hasSuffix("Error") || name.hasSuffix("Exception") { return .error }
        }
        // `RuntimeError: ...`, `java.lang.IllegalStateException: ...`, `TypeError: ...`.
        let end = text.endOfWord()
        guard end > 1 else { return nil }
        if text[end - 1] == UInt8(ascii: ":") { return exceptionName(text, 0..<(end - 1)) }
        // A name alone on its line, qualified (`java.lang.NullPointerException`).
        guard end == text.count, text.firstOffset(of: UInt8(ascii: "."), to: end) != nil else { return nil }
        return exceptionName(text, 0..<end)
    }

    /// A class or type name ending in `Error` or `Exception` (error) or `Warning` (warn).
    private static func exceptionName(_ text: UnsafeRawBufferPointer, _ range: Range<Int>) -> EventLevel? {
        guard range.count >= 5, isUpperCaseLetter(text[range.lowerBound]) || text[range].contains(UInt8(ascii: ".")) else { return nil }
        guard text[range].allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "$") }) else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: text[range])
        if name.hasSuffix("Error") || name.hasSuffix("Exception") { return .error }
        if name.hasSuffix("Warning") { return .warn }
        return nil
    }

    // MARK: key=value

    /// `level=error`, `lvl=WARN`, `severity="info"` (a word of its own, in the first 240 bytes).
    private static func keyValueLevel(_ text: UnsafeRawBufferPointer) -> EventLevel? {
        var index = 0
        while let equals = text.firstOffset(of: UInt8(ascii: "="), from: index) {
            defer { index = equals + 1 }
            var keyStart = equals
            while keyStart > 0, isLetter(text[keyStart - 1]) || text[keyStart - 1] == UInt8(ascii: ".") { keyStart -= 1 }
            guard keyStart == 0 || text[keyStart - 1] == 0x20 || text[keyStart - 1] == 0x09 else { continue }
            let key = keyStart..<equals
            guard text.equals(key, "level") || text.equals(key, "lvl") || text.equals(key, "severity") || text.equals(key, "loglevel")
                || text.equals(key, "log.level") else { continue }
            var start = equals + 1
            if start < text.count, text[start] == UInt8(ascii: "\"") { start += 1 }
            var stop = start
            while stop < text.count, isLetter(text[stop]) { stop += 1 }
            guard stop == text.count || text[stop] == 0x20 || text[stop] == 0x09 || text[stop] == UInt8(ascii: "\"") else { continue }
            let value = UnsafeRawBufferPointer(rebasing: text[start..<stop])
            guard value.count >= 3, value.count <= 11, letterCase(value) != .mixed else { continue }
            if let level = bracketWords.level(of: value) { return level }
        }
        return nil
    }

    // MARK: What a prefix is made of

    /// Timestamps, dates, numbers, addresses, pids (`27100#27100:`), month and day names, time
    /// zones, separators, `user@database`.
    private static func isPrefix(_ text: UnsafeRawBufferPointer, _ token: Range<Int>) -> Bool {
        let first = text[token.lowerBound]
        if isDigit(first) || first == UInt8(ascii: "+") {
            var digits = 0
            for index in token {
                let byte = text[index]
                if isDigit(byte) {
                    digits += 1
                } else if !isTimestampPunctuation(byte) {
                    return false
                }
            }
            return digits > 0
        }
        guard isLetter(first) else { return isSeparator(text, token) }
        var word = token
        while word.count > 1, text[word.upperBound - 1] == UInt8(ascii: ",") || text[word.upperBound - 1] == UInt8(ascii: ":") { word = word.dropLast() }
        if word.count <= 4, isUpperCaseLetter(first), calendarAndZoneWords.level(of: UnsafeRawBufferPointer(rebasing: text[word]), lowercased: false) != nil {
            return true
        }
        // `user@database` (PostgreSQL's prefix).
        var at = false
        for index in token {
            let byte = text[index]
            if byte == UInt8(ascii: "@") {
                at = true
            } else if !(isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")) {
                return false
            }
        }
        return at
    }

    private static func isSeparator(_ text: UnsafeRawBufferPointer, _ token: Range<Int>) -> Bool {
        token.count <= 3 && text[token].allSatisfy {
            $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: ":")
                || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "#")
        }
    }

    /// `sshd[1234]`, `postfix/smtp[12]`, `kernel`, `main.go:42`, `gcc`: what precedes a colon in
    /// a program's or a compiler's prefix.
    private static func isProgramTag(_ text: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty, range.count <= 64 else { return false }
        return text[range].allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: ":")
        }
    }

    /// A logger or host name: letters, digits, `.`, `_`, `-`, `$`.
    private static func isName(_ text: UnsafeRawBufferPointer, _ token: Range<Int>) -> Bool {
        token.count <= 64 && text[token].allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "$")
        }
    }

    /// `:.,/-+TZ#`: what timestamps, addresses and `pid#tid` are made of besides digits.
    @inline(__always) private static func isTimestampPunctuation(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "+"),
             UInt8(ascii: "T"), UInt8(ascii: "Z"), UInt8(ascii: "#"): true
        default: false
        }
    }

    // MARK: Scanning

    private static func nextToken(_ text: UnsafeRawBufferPointer, from cursor: inout Int) -> Range<Int>? {
        while cursor < text.count, text[cursor] == 0x20 || text[cursor] == 0x09 { cursor += 1 }
        guard cursor < text.count else { return nil }
        let start = cursor
        while cursor < text.count, text[cursor] != 0x20, text[cursor] != 0x09 { cursor += 1 }
        return start..<cursor
    }

    private static func peekToken(_ text: UnsafeRawBufferPointer, from cursor: Int) -> Range<Int>? {
        var position = cursor
        return nextToken(text, from: &position)
    }

    private static func closingBracket(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "["): UInt8(ascii: "]")
        case UInt8(ascii: "("): UInt8(ascii: ")")
        case UInt8(ascii: "{"): UInt8(ascii: "}")
        case UInt8(ascii: "<"): UInt8(ascii: ">")
        default: nil
        }
    }

    private enum LetterCase { case upper, lower, capitalised, mixed }

    /// `ERROR`/`DEBUG1` upper, `error` lower, `Error` capitalised; anything else mixed.
    private static func letterCase(_ word: UnsafeRawBufferPointer) -> LetterCase {
        var upper = 0, lower = 0
        for byte in word {
            if isUpperCaseLetter(byte) {
                upper += 1
            } else if byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") {
                lower += 1
            } else if !isDigit(byte) {
                return .mixed
            }
        }
        if lower == 0 && upper > 0 { return .upper }
        if upper == 0 && lower > 0 { return .lower }
        if upper == 1 && isUpperCaseLetter(word[0]) { return .capitalised }
        return .mixed
    }

    @inline(__always) private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    @inline(__always) private static func isUpperCaseLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    @inline(__always) private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }

    // MARK: Words

    /// Upper case, in a prefix: the levels of every common format.
    private static let upperCaseWords = WordTable([
        ("TRACE", .trace), ("TRC", .trace), ("FINEST", .trace), ("FINER", .trace), ("VERBOSE", .trace),
        ("DEBUG", .debug), ("DBG", .debug), ("FINE", .debug), ("DEBUG1", .debug), ("DEBUG2", .debug), ("DEBUG3", .debug),
        ("DEBUG4", .debug), ("DEBUG5", .debug),
        ("INFO", .info), ("INF", .info), ("NOTICE", .info), ("CONFIG", .info), ("INFORMATION", .info),
        ("WARN", .warn), ("WARNING", .warn), ("WRN", .warn),
        ("ERROR", .error), ("ERR", .error), ("SEVERE", .error),
        ("FATAL", .fatal), ("FTL", .fatal), ("CRITICAL", .fatal), ("CRIT", .fatal), ("ALERT", .fatal), ("EMERG", .fatal),
        ("EMERGENCY", .fatal), ("PANIC", .fatal),
    ])

    /// In brackets or as `level=`, any single case (nginx's `[crit]`, Apache's `[core:error]`).
    private static let bracketWords = WordTable([
        ("trace", .trace), ("trc", .trace), ("finest", .trace), ("finer", .trace), ("verbose", .trace),
        ("debug", .debug), ("dbg", .debug), ("fine", .debug),
        ("info", .info), ("inf", .info), ("notice", .info), ("information", .info),
        ("warn", .warn), ("warning", .warn), ("wrn", .warn),
        ("error", .error), ("err", .error), ("severe", .error),
        ("fatal", .fatal), ("critical", .fatal), ("crit", .fatal), ("alert", .fatal), ("emerg", .fatal), ("emergency", .fatal),
        ("panic", .fatal),
    ])

    /// Lower case or capitalised before a colon (`error:`, `Warning:`, .NET's `fail:`); words
    /// that are also ordinary (`fine`, `config`, `alert`) are left out.
    private static let colonWords = WordTable([
        ("trace", .trace), ("trce", .trace), ("debug", .debug), ("dbug", .debug),
        ("info", .info), ("notice", .info), ("warn", .warn), ("warning", .warn),
        ("error", .error), ("err", .error), ("fail", .error), ("severe", .error),
        ("fatal", .fatal), ("critical", .fatal), ("crit", .fatal), ("emerg", .fatal), ("panic", .fatal),
    ])

    /// Month and day names, and time zones (the level is a placeholder: only presence counts).
    private static let calendarAndZoneWords = WordTable([
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "AM", "PM",
        "UTC", "GMT", "CET", "CEST", "EET", "EEST", "WET", "BST", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "JST", "IST", "Z",
    ].map { ($0, EventLevel.unknown) })
}

/// A fixed set of words of up to 16 bytes and their levels, looked up without allocating or
/// hashing with `Hasher` (the lookups run for most plain lines): the word is packed into two
/// integers, and an open-addressed table of 128 slots is probed from a multiplicative hash.
///
/// `@unchecked Sendable`: the slots are written once, in `init`, and only read after; they are
/// never freed (the tables are static), so no reference counting happens on the lookups.
struct WordTable: @unchecked Sendable {
    private let keys = UnsafeMutablePointer<(low: UInt64, high: UInt64)>.allocate(capacity: 128)
    private let levels = UnsafeMutablePointer<EventLevel>.allocate(capacity: 128)

    init(_ words: [(String, EventLevel)]) {
        precondition(words.count <= 64, "a word table is at most half full")
        keys.initialize(repeating: (0, 0), count: 128)
        levels.initialize(repeating: .unknown, count: 128)
        for (word, level) in words {
            var word = word
            let key = word.withUTF8 { Self.key(UnsafeRawBufferPointer($0), lowercased: false) }
            var slot = Self.slot(key)
            while keys[slot] != (0, 0) { slot = (slot + 1) & 127 }
            keys[slot] = key
            levels[slot] = level
        }
    }

    /// The level of `word` (lower-cased first, unless `lowercased` is false); nil when absent.
    @inline(__always)
    func level(of word: UnsafeRawBufferPointer, lowercased: Bool = true) -> EventLevel? {
        guard !word.isEmpty, word.count <= 16 else { return nil }
        let key = Self.key(word, lowercased: lowercased)
        var slot = Self.slot(key)
        while true {
            let found = keys[slot]
            if found == key { return levels[slot] }
            if found == (0, 0) { return nil }
            slot = (slot + 1) & 127
        }
    }

    @inline(__always)
    private static func key(_ word: UnsafeRawBufferPointer, lowercased: Bool) -> (low: UInt64, high: UInt64) {
        var packed: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &packed) { buffer in
            for index in 0..<word.count {
                let byte = word[index]
                buffer[index] = lowercased && byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
        }
        return packed
    }

    @inline(__always)
    private static func slot(_ key: (low: UInt64, high: UInt64)) -> Int {
        Int(truncatingIfNeeded: ((key.low ^ (key.high &* 0x9E37_79B9)) &* 0x9E37_79B9_7F4A_7C15) >> 57)
    }
}

extension UnsafeRawBufferPointer {
    /// Whether `sequence` occurs in the buffer.
    func contains(sequence: StaticString) -> Bool {
        let length = sequence.utf8CodeUnitCount
        guard length > 0, count >= length else { return false }
        var start = 0
        while start + length <= count, let first = self[start...].firstIndex(of: sequence.utf8Start[0]), first + length <= count {
            var matches = true
            for index in 1..<length where self[first + index] != sequence.utf8Start[index] {
                matches = false
                break
            }
            if matches { return true }
            start = first + 1
        }
        return false
    }
}
