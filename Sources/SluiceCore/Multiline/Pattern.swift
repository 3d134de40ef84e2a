import CPCRE2

/// A regular expression in PCRE syntax (`\d`, `(?i)`, lookarounds), compiled once with PCRE2
/// and its JIT, matched against bytes. Used by `where` filters, alert rules and multiline
/// joining. Matching needs a `PatternMatcher`, one per thread.
///
/// `@unchecked Sendable`: the compiled code is only read after `init`; PCRE2 allows one compiled
/// pattern to be matched from several threads, each with its own match data.
public final class Pattern: @unchecked Sendable, CustomStringConvertible {
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let caseInsensitive = Options(rawValue: PCRE2_CASELESS)
        public static let multiline = Options(rawValue: PCRE2_MULTILINE)
        public static let dotMatchesNewlines = Options(rawValue: PCRE2_DOTALL)
        public static let extended = Options(rawValue: PCRE2_EXTENDED)
    }

    public let source: String
    public let options: Options
    let code: OpaquePointer

    /// Compiles `source`; the error says what is wrong and where.
    public init(_ source: String, options: Options = []) throws(PatternError) {
        var message = [CChar](repeating: 0, count: 256)
        var offset = 0
        var text = source
        let compiled = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                sluice_pcre2_compile($0.baseAddress, $0.count, options.rawValue, &message, message.count, &offset)
            }
        }
        guard let compiled else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PatternError(pattern: source, reason: reason, offset: offset)
        }
        self.source = source
        self.options = options
        code = compiled
    }

    deinit {
        pcre2_code_free_8(code)
    }

    public var description: String { source }

    /// A matcher for the calling thread.
    public func matcher() -> PatternMatcher {
        PatternMatcher(pattern: self)
    }

    /// Matches once (allocating match data): for tests and code off the per-event path.
    public func matches(_ text: String) -> Bool {
        var text = text
        let matcher = matcher()
        return text.withUTF8 { matcher.matches(UnsafeRawBufferPointer($0)) }
    }

    /// How many steps one match may take (PCRE2's `match_limit`, which counts backtracking and
    /// binds its JIT too): a tenth of PCRE2's default. A pattern that needs more on a subject (a
    /// nested quantifier such as `(a+)+c` on a long run of `a`) is stopped there, in about a
    /// millisecond, and the match counts as failed: `where`/`when` treat it as an error, a
    /// redaction replaces the whole value (see `RegexLimitHits`).
    public static let matchLimit: UInt32 = 1_000_000

    /// The match context every matcher uses: read-only once made, shared by every thread.
    nonisolated(unsafe) static let matchContext: OpaquePointer? = sluice_pcre2_match_context(matchLimit)

    /// What `validate` (and the start-up log) says about a pattern that may backtrack for a long
    /// time; nil for one that does not look so.
    public static func backtrackingWarning(_ source: String, key: String, consequence: String) -> String? {
        guard hasNestedQuantifier(source) else { return nil }
        return "\(key): /\(source)/ repeats a group that itself repeats (a nested quantifier): on some lines it backtracks for a very long time. PCRE2 stops a match after \(matchLimit) steps; then \(consequence). Make the inner part possessive (a++) or atomic ((?>a+)) if you can"
    }

    /// Whether `source` repeats a group that itself repeats (`(a+)+`, `(x*)*`, `(\w+\s?){2,}`):
    /// what makes a backtracking match take time exponential in the subject. `validate` warns
    /// about such patterns.
    public static func hasNestedQuantifier(_ source: String) -> Bool {
        let characters = Array(source.utf8)
        var groupsWithQuantifier: [Bool] = []
        var index = 0
        var inClass = false
        while index < characters.count {
            let character = characters[index]
            defer { index += 1 }
            if character == UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if inClass {
                if character == UInt8(ascii: "]") { inClass = false }
                continue
            }
            switch character {
            case UInt8(ascii: "["): inClass = true
            case UInt8(ascii: "("): groupsWithQuantifier.append(false)
            case UInt8(ascii: ")"):
                guard let inner = groupsWithQuantifier.popLast() else { continue }
                let next = index + 1 < characters.count ? characters[index + 1] : 0
                let repeated = next == UInt8(ascii: "+") || next == UInt8(ascii: "*") || next == UInt8(ascii: "{")
                if inner && repeated { return true }
                if (inner || repeated), !groupsWithQuantifier.isEmpty { groupsWithQuantifier[groupsWithQuantifier.count - 1] = true }
            case UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "{"):
                if !groupsWithQuantifier.isEmpty { groupsWithQuantifier[groupsWithQuantifier.count - 1] = true }
            default:
                break
            }
        }
        return false
    }
}

/// How often a regular expression was stopped at `Pattern.matchLimit`, by what it was for:
/// `sluice_regex_limit_hits_total{use}`.
public enum RegexLimitHits {
    /// `where` (sinks, transforms) and `when` (alert rules): the condition failed closed.
    public static let conditions = Counter()
    /// `redact` regexes: the whole value was replaced.
    public static let redactions = Counter()
    /// `multiline` `start`/`continue`: the line was not joined.
    public static let multiline = Counter()
}

/// Matches one `Pattern` on one thread (it owns PCRE2's per-match data).
public final class PatternMatcher {
    public let pattern: Pattern
    let data: OpaquePointer

    init(pattern: Pattern) {
        self.pattern = pattern
        data = pcre2_match_data_create_from_pattern_8(pattern.code, nil)
    }

    deinit {
        pcre2_match_data_free_8(data)
    }

    /// Whether `bytes` match; a match stopped at the limit counts as none (multiline joining:
    /// the line is not joined) and is counted.
    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch match(bytes) {
        case 1: return true
        case 0: return false
        default:
            RegexLimitHits.multiline.add(1)
            return false
        }
    }

    /// 1 a match, 0 none, -1 stopped at `Pattern.matchLimit`.
    public func match(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var nothing: UInt8 = 0
        guard let base = bytes.baseAddress else {
            return withUnsafeBytes(of: &nothing) { sluice_pcre2_matches(pattern.code, $0.baseAddress, 0, data, Pattern.matchContext) }
        }
        return sluice_pcre2_matches(pattern.code, base, bytes.count, data, Pattern.matchContext)
    }

    public enum Found {
        case match(Range<Int>)
        case none
        /// Stopped at `Pattern.matchLimit`: whether it matches is not known.
        case failed
    }

    /// The first match in `bytes` at or after `start`.
    public func firstMatch(in bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Found {
        guard let base = bytes.baseAddress, start <= bytes.count else { return .none }
        var lower = 0, upper = 0
        switch sluice_pcre2_find(pattern.code, base, bytes.count, start, data, Pattern.matchContext, &lower, &upper) {
        case 1: return .match(lower..<max(upper, lower))
        case 0: return .none
        default: return .failed
        }
    }
}

public struct PatternError: Error, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    public var offset: Int = 0
    public var description: String { "invalid regular expression /\(pattern)/: \(reason) at offset \(offset)" }
}
