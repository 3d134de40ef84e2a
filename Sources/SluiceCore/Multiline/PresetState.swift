/// What the presets remember between lines, and how each decides whether a line continues the
/// open group. Each joins what its runtime prints, whole, and nothing more; the traces they are
/// tested against come from the real runtimes (`Tests/Traces`, `MultilinePresetTests`).
struct PresetState {
    private var go = GoPanic()
    private var python = PythonTraceback()
    private var java = JavaTrace()
    private var node = NodeTrace()
    private var ruby = IndentedTrace(restarts: true, startsWith: { $0.looksLikeRubyExceptionLine })
    private var dotnet = IndentedTrace(startsWith: { $0.looksLikeDotNetExceptionStart })
    private var auto = AutoTrace()

    mutating func started(_ line: UnsafeRawBufferPointer, rule: MultilineSettings.Rule) {
        switch rule {
        case .preset(.go): go.started(line)
        case .preset(.python): python.started(line)
        case .preset(.java): java.started(line)
        case .preset(.node): node.started(line)
        case .preset(.ruby): ruby.started(line)
        case .preset(.dotnet): dotnet.started(line)
        case .preset(.auto): auto.started(line)
        case .start, .continuation: break
        }
    }

    mutating func continues(_ line: UnsafeRawBufferPointer, rule: MultilineSettings.Rule, matcher: PatternMatcher?) -> Bool {
        switch rule {
        case .start: !(matcher?.matches(line) ?? false)
        case .continuation: matcher?.matches(line) ?? false
        case .preset(.go): go.continues(line)
        case .preset(.python): python.continues(line)
        case .preset(.java): java.continues(line)
        case .preset(.node): node.continues(line)
        case .preset(.ruby): ruby.continues(line)
        case .preset(.dotnet): dotnet.continues(line)
        case .preset(.auto): auto.continues(line)
        }
    }
}

/// Go: a panic (`panic: `), a runtime failure (`fatal error: `) or a signal's dump
/// (`SIGQUIT: quit`) starts a group that takes everything the runtime prints after it: the
/// `[recovered]` and `[signal ...]` lines, blank lines, every `goroutine N [...]:` block of a
/// full dump (`GOTRACEBACK=all`, `system`, `crash`), function lines with or without a package
/// path (`main.main()`, `panic({0x4b6a20, 0x4f0b58})`), indented file lines (with
/// ` fp=... sp=... pc=...` or not), `created by ...`, `runtime stack:`, `PC=...`, register lines
/// (`rax    0x0`) and `go run`'s `exit status N`. The first line of another kind ends it.
struct GoPanic {
    private var inPanic = false

    mutating func started(_ line: UnsafeRawBufferPointer) {
        inPanic = Self.startsAPanic(line)
    }

    mutating func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        // A new panic is an event of its own (`started` then remembers it).
        if Self.startsAPanic(line) { return false }
        guard inPanic else { return false }
        return line.isEmpty || line.startsWithBlank || line.hasPrefix("goroutine ") || line.hasPrefix("created by ")
            || line.hasPrefix("[") || line.hasPrefix("exit status ") || line.hasPrefix("runtime stack:") || line.hasPrefix("PC=")
            || line.hasPrefix("...") || line.looksLikeGoFunctionCall || line.looksLikeRegisterLine
    }

    static func startsAPanic(_ line: UnsafeRawBufferPointer) -> Bool {
        line.hasPrefix("panic: ") || line.hasPrefix("fatal error: ") || line.looksLikeSignalDumpHeader
    }
}

/// Python: a traceback (`Traceback (most recent call last):`, or an `ExceptionGroup`'s boxed
/// `+ Exception Group Traceback ...`) joins the line before it when that line is alone and
/// speaks of a problem (the message of `logging.exception`, or of `log.warning(...,
/// exc_info=True)`); after any other line (an uncaught exception's traceback on stderr, merged
/// with stdout) it starts an event of its own. It takes its indented lines (frames, source lines, `SyntaxError` carets, the `| ` and
/// `+-+---` lines of a group) and the exception line that ends it. Chained exceptions stay in
/// the group: after the exception line, blank lines, "During handling of the above exception,
/// another exception occurred:" and "The above exception was the direct cause of the following
/// exception:" continue it, and so does the next traceback. An exception group's traceback ends
/// at its last box line (there is no exception line after it).
struct PythonTraceback {
    enum Phase {
        case outside
        case inTraceback
        case inExceptionGroup
        case afterException
    }

    private var phase = Phase.outside
    /// The group is one line that speaks of a problem: a traceback may join it.
    private var aLoneProblemReport = false

    mutating func started(_ line: UnsafeRawBufferPointer) {
        phase = Self.tracebackHeader(line) ?? .outside
        aLoneProblemReport = phase == .outside && line.speaksOfAProblem
    }

    mutating func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        defer { aLoneProblemReport = false }
        if let header = Self.tracebackHeader(line) {
            // A new traceback continues the group only after a lone problem report or within
            // a chain of exceptions.
            guard aLoneProblemReport || phase == .afterException else { return false }
            phase = header
            return true
        }
        switch phase {
        case .outside:
            return false
        case .inTraceback:
            // The exception line ends the traceback and belongs to it.
            if !line.startsWithBlank { phase = .afterException }
            return true
        case .inExceptionGroup where line.startsWithBlank:
            return true
        case .inExceptionGroup, .afterException:
            if line.isEmpty || line.hasPrefix("During handling of the above exception, another exception occurred:")
                || line.hasPrefix("The above exception was the direct cause of the following exception:") {
                phase = .afterException
                return true
            }
            phase = .outside
            return false
        }
    }

    static func tracebackHeader(_ line: UnsafeRawBufferPointer) -> Phase? {
        if line.hasPrefix("Traceback (most recent call last):") { return .inTraceback }
        let indented = line.droppingLeadingBlanks
        return indented.hasPrefix("+ Exception Group Traceback (most recent call last):") ? .inExceptionGroup : nil
    }
}

/// Java: indented lines (`\tat ...`, `\t... 8 more`, `\tSuppressed: ...` and what nests under
/// it), `Caused by: ...`, and the exception line right after a lone log line that speaks of a
/// problem (`java.lang.IllegalStateException: x` after `... ERROR Handler boom`), so the trace
/// is part of the event that has the log line's level. `Exception in thread "x" ...` starts a trace of
/// its own. An exception line is a qualified class name whose simple name ends in `Exception`,
/// `Error` or `Throwable`, alone or followed by `: message`.
struct JavaTrace {
    /// The group is one line that speaks of a problem: an exception line may join it.
    private var aLoneProblemReport = false

    mutating func started(_ line: UnsafeRawBufferPointer) {
        aLoneProblemReport = line.speaksOfAProblem
    }

    mutating func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        defer { aLoneProblemReport = false }
        return line.startsWithBlank || line.hasPrefix("Caused by: ") || line.hasPrefix("Suppressed: ")
            || (aLoneProblemReport && line.looksLikeJavaExceptionLine)
    }
}

extension UnsafeRawBufferPointer {
    func hasPrefix(_ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard count >= length else { return false }
        for index in 0..<length where self[index] != prefix.utf8Start[index] { return false }
        return true
    }

    func hasSuffix(_ suffix: StaticString) -> Bool {
        let length = suffix.utf8CodeUnitCount
        guard count >= length else { return false }
        for index in 0..<length where self[count - length + index] != suffix.utf8Start[index] { return false }
        return true
    }

    var startsWithBlank: Bool {
        guard let first else { return false }
        return first == 0x20 || first == 0x09
    }

    var droppingLeadingBlanks: UnsafeRawBufferPointer {
        let start = firstIndex { $0 != 0x20 && $0 != 0x09 } ?? count
        return UnsafeRawBufferPointer(rebasing: self[start...])
    }

    /// `main.main()`, `net/http.(*conn).serve(0xc000...)`, `panic({0x4b6a20, 0x4f0b58})`: a
    /// function name without spaces, then its argument list to the end of the line.
    var looksLikeGoFunctionCall: Bool {
        guard let open = firstIndex(of: UInt8(ascii: "(")), open > 0, last == UInt8(ascii: ")") else { return false }
        return !self[0..<open].contains(0x20) && !self[0..<open].contains(0x09)
    }

    /// `rax    0x0`, `rflags 0x246`: a register in a Go signal dump.
    var looksLikeRegisterLine: Bool {
        guard let space = firstIndex(of: 0x20), space >= 2, space <= 6 else { return false }
        let name = self[0..<space]
        guard name.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }) else { return false }
        return UnsafeRawBufferPointer(rebasing: self[space...]).droppingLeadingBlanks.hasPrefix("0x")
    }

    /// `SIGQUIT: quit`, `SIGSEGV: segmentation violation`: the header of a Go signal dump.
    var looksLikeSignalDumpHeader: Bool {
        guard hasPrefix("SIG"), let colon = firstIndex(of: UInt8(ascii: ":")), colon > 3 else { return false }
        return self[3..<colon].allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// Whether the line's first 160 bytes name a problem: warn, error, fatal, critical, severe or
    /// exception, in any case (`ERROR:root:failed`, `level=warn`, `"level":"error"`,
    /// `2026-12-01 10:00:00 SEVERE ...`). Lines that do not are never joined by a trace after
    /// them: an uncaught exception printed after an ordinary line stays an event of its own.
    var speaksOfAProblem: Bool {
        let words: [StaticString] = ["warn", "error", "fatal", "critical", "severe", "exception"]
        let end = Swift.min(count, 160)
        for start in 0..<end {
            let byte = self[start] | 0x20
            guard byte == UInt8(ascii: "w") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "f") || byte == UInt8(ascii: "c")
                || byte == UInt8(ascii: "s") else { continue }
            for word in words where Self.matchesIgnoringCase(self, at: start, end: end, word) { return true }
        }
        return false
    }

    private static func matchesIgnoringCase(_ bytes: UnsafeRawBufferPointer, at start: Int, end: Int, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard start + length <= end else { return false }
        for index in 0..<length where bytes[start + index] | 0x20 != word.utf8Start[index] { return false }
        return true
    }

    /// `java.lang.IllegalStateException`, `com.acme.Job$Failure: x`: a qualified class name whose
    /// simple name ends in Exception, Error or Throwable, alone or before `: message`.
    var looksLikeJavaExceptionLine: Bool {
        let end = firstOffset(of: UInt8(ascii: ":")) ?? count
        // After the colon: the end of the line, or a space and the message.
        guard end + 1 >= count || self[end + 1] == 0x20 else { return false }
        let name = UnsafeRawBufferPointer(rebasing: self[0..<end])
        guard name.firstOffset(of: UInt8(ascii: ".")) != nil, name.endOfWord() == name.count else { return false }
        return name.hasSuffix("Exception") || name.hasSuffix("Error") || name.hasSuffix("Throwable")
    }
}
