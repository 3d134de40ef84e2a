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

    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var nothing: UInt8 = 0
        guard let base = bytes.baseAddress else {
            return withUnsafeBytes(of: &nothing) { sluice_pcre2_matches(pattern.code, $0.baseAddress, 0, data) != 0 }
        }
        return sluice_pcre2_matches(pattern.code, base, bytes.count, data) != 0
    }

    /// The first match in `bytes` at or after `start`; nil when there is none.
    public func firstMatch(in bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Range<Int>? {
        guard let base = bytes.baseAddress, start <= bytes.count else { return nil }
        var lower = 0, upper = 0
        guard sluice_pcre2_find(pattern.code, base, bytes.count, start, data, &lower, &upper) != 0 else { return nil }
        return lower..<max(upper, lower)
    }
}

public struct PatternError: Error, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    public var offset: Int = 0
    public var description: String { "invalid regular expression /\(pattern)/: \(reason) at offset \(offset)" }
}
