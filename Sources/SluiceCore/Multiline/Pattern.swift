#if canImport(Glibc)
import Glibc
#endif

/// A POSIX extended regular expression matched against bytes (glibc's `regexec` with
/// `REG_STARTEND`, so lines need no terminating NUL and are not copied).
///
/// `@unchecked Sendable`: the compiled expression is only read after `init`, and glibc's
/// `regexec` on a compiled expression is safe from several threads.
public final class Pattern: @unchecked Sendable, CustomStringConvertible {
    public let source: String
    private let compiled: UnsafeMutablePointer<regex_t>

    /// Compiles `source`; the error says what is wrong with it.
    public init(_ source: String, caseInsensitive: Bool = false) throws(PatternError) {
        // Compiled into a local first: a throwing init that had set every property would run
        // deinit on an expression that never compiled.
        let expression = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let flags = REG_EXTENDED | REG_NOSUB | (caseInsensitive ? REG_ICASE : 0)
        let result = regcomp(expression, source, flags)
        guard result == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(result, expression, &message, message.count)
            expression.deallocate()
            throw PatternError(pattern: source, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.source = source
        compiled = expression
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    public var description: String { source }

    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else {
            var nothing: UInt8 = 0
            return withUnsafeBytes(of: &nothing) { matches(UnsafeRawBufferPointer(rebasing: $0[0..<0])) }
        }
        var range = regmatch_t(rm_so: 0, rm_eo: regoff_t(bytes.count))
        let startEnd: Int32 = 4  // REG_STARTEND: match within range.rm_so..<range.rm_eo
        return regexec(compiled, base.assumingMemoryBound(to: CChar.self), 1, &range, startEnd) == 0
    }

    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }
}

public struct PatternError: Error, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    public var description: String { "invalid regular expression /\(pattern)/: \(reason)" }
}
