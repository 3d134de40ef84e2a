/// `auto`: the traces of Go, Python, Java, Node.js, Ruby and .NET, each joined as its preset
/// joins it, and nothing else. It is the default for stdin and a wrapped program, so it must
/// never join two unrelated lines (measured on `Tests/Corpus/PlainLevels`: none of its lines is
/// joined to another):
///
/// - a group opens only at a trace's first line (`panic: `, `fatal error: `, `Traceback ...`,
///   `Exception in thread ...`, a qualified exception name, `Unhandled exception.`, Node's
///   `file.js:N` or `Error: ...`, Ruby's `...:in 'm': message (Class)`) or at a line that speaks
///   of a problem (`ERROR ...`, `level=error`), which a trace may follow (`logging.exception`,
///   a logged Java exception);
/// - after a line that speaks of a problem, only a Python traceback, a qualified exception name
///   (Java, .NET) or an indented line continues it, and what follows is joined by that
///   runtime's rule;
/// - a JSON object line never opens or continues a group (JSON loggers put traces in fields).
struct AutoTrace {
    private enum Open {
        case nothing
        /// A line that speaks of a problem: a trace may follow it.
        case problemReport
        case go
        case python
        /// Java and .NET: indented frames, `Caused by:`, `Suppressed:`.
        case jvm
        case node
        /// Ruby: indented `from` lines, and a cause's trace.
        case ruby
        /// Indented details after a problem report.
        case indented
    }

    private var open = Open.nothing

    /// Whether the last line started or continued a group that later lines may continue.
    var isOpen: Bool { open != .nothing }
    private var go = GoPanic()
    private var python = PythonTraceback()
    private var node = NodeTrace()

    mutating func started(_ line: UnsafeRawBufferPointer) {
        open = .nothing
        guard !line.startsLikeJSONObject else { return }
        if GoPanic.startsAPanic(line) {
            go.started(line)
            open = .go
        } else if PythonTraceback.tracebackHeader(line) != nil {
            python.started(line)
            open = .python
        } else if line.hasPrefix("Exception in thread ") || line.looksLikeDotNetExceptionStart {
            open = .jvm
        } else if line.looksLikeNodeLocation || line.looksLikeErrorNameLine {
            node.started(line)
            open = .node
        } else if line.looksLikeRubyExceptionLine {
            open = .ruby
        } else if line.speaksOfAProblem {
            open = .problemReport
        }
    }

    mutating func continues(_ line: UnsafeRawBufferPointer) -> Bool {
        guard !line.startsLikeJSONObject else {
            open = .nothing
            return false
        }
        switch open {
        case .nothing:
            return false
        case .go:
            return go.continues(line)
        case .python:
            return python.continues(line)
        case .jvm:
            return line.startsWithBlank || line.hasPrefix("Caused by: ") || line.hasPrefix("Suppressed: ")
        case .node:
            return node.continues(line)
        case .ruby:
            return line.startsWithBlank || line.looksLikeRubyExceptionLine
        case .indented:
            return line.startsWithBlank
        case .problemReport:
            // What may follow a line that speaks of a problem: its trace, or indented details.
            if PythonTraceback.tracebackHeader(line) != nil {
                python.started(line)
                open = .python
            } else if line.looksLikeJavaExceptionLine {
                open = .jvm
            } else if line.startsWithBlank {
                open = .indented
            } else {
                open = .nothing
                return false
            }
            return true
        }
    }

    /// Whether `second` could join `first` into a group: the cheap test that lets the encoder
    /// skip the state machine for almost every pair of lines (see `BatchEncoding`). A pair that
    /// passes may still not join; one that fails never does. It covers every line that can be a
    /// group's second line: later lines are judged by the state machine alone.
    static func mayJoin(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        guard !second.startsLikeJSONObject, !first.startsLikeJSONObject else { return false }
        // Node's `file.js:N` is followed by the source line, which may look like anything.
        return mayBeSecondLine(second) || first.looksLikeNodeLocation
    }

    private static func mayBeSecondLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let first = line.first else { return true }
        switch first {
        case 0x20, 0x09, UInt8(ascii: "["), UInt8(ascii: "}"), UInt8(ascii: "."): return true
        case UInt8(ascii: "{"): return false
        case UInt8(ascii: "C") where line.hasPrefix("Caused by: "): return true
        case UInt8(ascii: "S") where line.hasPrefix("Suppressed: "): return true
        case UInt8(ascii: "T") where line.hasPrefix("Traceback ("): return true
        case UInt8(ascii: "T") where line.hasPrefix("The above exception"): return true
        case UInt8(ascii: "D") where line.hasPrefix("During handling"): return true
        case UInt8(ascii: "g") where line.hasPrefix("goroutine "): return true
        case UInt8(ascii: "c") where line.hasPrefix("created by "): return true
        case UInt8(ascii: "e") where line.hasPrefix("exit status "): return true
        case UInt8(ascii: "r") where line.hasPrefix("runtime stack:"): return true
        case UInt8(ascii: "P") where line.hasPrefix("PC="): return true
        case UInt8(ascii: "N") where line.hasPrefix("Node.js v"): return true
        case UInt8(ascii: "U") where line.hasPrefix("Uncaught "): return true
        default: break
        }
        // What is left is told by the first word: an exception name before a colon, a register,
        // a function call, or a line that is one word.
        let end = line.endOfWord()
        guard end < line.count else {
            return line.looksLikeJavaExceptionLine || line.looksLikeNodeLocation || line.looksLikeGoFunctionCall
        }
        if line[end - 1] == UInt8(ascii: ":") { return line.looksLikeJavaExceptionLine || line.looksLikeErrorNameLine }
        if end <= 6 && line.looksLikeRegisterLine { return true }
        if end + 1 < line.count, line[end + 1] == UInt8(ascii: "[") && line.looksLikeErrorNameLine { return true }
        return line[line.count - 1] == UInt8(ascii: ")") && line.looksLikeGoFunctionCall
    }
}

extension UnsafeRawBufferPointer {
    /// `{` after any blanks: a JSON object line.
    var startsLikeJSONObject: Bool {
        for byte in self {
            if byte == 0x20 || byte == 0x09 { continue }
            return byte == UInt8(ascii: "{")
        }
        return false
    }
}
