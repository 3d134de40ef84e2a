/// Joins lines into groups by a `MultilineSettings` rule. A group ends when a line does not
/// continue it, when it reaches `maxLines` or `maxBytes`, at its timeout, or at end of input;
/// the group's lines are kept with their newlines.
struct MultilineJoiner: ~Copyable {
    let settings: MultilineSettings?
    private var group = ByteWriter(capacity: 1024)
    private var completed = ByteWriter(capacity: 1024)
    private var lines = 0
    private var startedAt: UInt64 = 0
    private var presetState = PresetState()
    private let matcher: PatternMatcher?

    init(settings: MultilineSettings?) {
        self.settings = settings
        switch settings?.rule {
        case .start(let pattern), .continuation(let pattern): matcher = pattern.matcher()
        default: matcher = nil
        }
    }

    var isEnabled: Bool { settings != nil }
    var hasOpenGroup: Bool { lines > 0 }

    /// The group that the last `add` or `close` completed.
    var completedGroup: UnsafeRawBufferPointer { completed.bytes }

    /// When the open group times out (monotonic nanoseconds).
    var deadline: UInt64? {
        guard let settings, lines > 0 else { return nil }
        return startedAt + settings.timeoutNanoseconds
    }

    /// Adds a line. Returns true when that completed the previous group (now in
    /// `completedGroup`); the line itself is then the start of the next one.
    mutating func add(_ line: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        guard let settings else { return false }
        let continues = lines > 0 && presetState.continues(line, rule: settings.rule, matcher: matcher)
            && lines < settings.maxLines && group.count + 1 + line.count <= settings.maxBytes
        if continues {
            group.append(0x0A)
            group.append(line)
            lines += 1
            return false
        }
        let completedPrevious = close()
        group.append(line)
        lines = 1
        startedAt = now
        presetState.started(line, rule: settings.rule)
        return completedPrevious
    }

    /// Ends the open group, if any. Returns true when there was one (now in `completedGroup`).
    mutating func close() -> Bool {
        guard lines > 0 else { return false }
        swap(&group, &completed)
        group.removeAll()
        lines = 0
        return true
    }
}

/// What the presets remember between lines.
struct PresetState {
    private var inTraceback = false
    private var inPanic = false

    mutating func started(_ line: UnsafeRawBufferPointer, rule: MultilineSettings.Rule) {
        inTraceback = line.hasPrefix("Traceback (most recent call last):")
        inPanic = line.hasPrefix("panic: ") || line.hasPrefix("fatal error: ")
    }

    mutating func continues(_ line: UnsafeRawBufferPointer, rule: MultilineSettings.Rule, matcher: PatternMatcher?) -> Bool {
        switch rule {
        case .start:
            return !(matcher?.matches(line) ?? false)
        case .continuation:
            return matcher?.matches(line) ?? false
        case .preset(.java):
            return line.startsWithBlank || line.hasPrefix("Caused by:") || line.hasPrefix("Suppressed:")
        case .preset(.python):
            if line.hasPrefix("Traceback (most recent call last):") {
                inTraceback = true
                return true
            }
            guard inTraceback else { return false }
            if line.startsWithBlank { return true }
            // The exception line ends the traceback and belongs to it.
            inTraceback = false
            return true
        case .preset(.go):
            // A panic starts its own group (`started` then remembers it).
            if line.hasPrefix("panic: ") || line.hasPrefix("fatal error: ") { return false }
            guard inPanic else { return false }
            return line.isEmpty || line.startsWithBlank || line.hasPrefix("goroutine ") || line.hasPrefix("created by ")
                || line.hasPrefix("[signal ") || line.hasPrefix("exit status ") || line.looksLikeGoFunctionCall
        }
    }
}

extension UnsafeRawBufferPointer {
    func hasPrefix(_ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard count >= length else { return false }
        for index in 0..<length where self[index] != prefix.utf8Start[index] { return false }
        return true
    }

    var startsWithBlank: Bool {
        guard let first else { return false }
        return first == 0x20 || first == 0x09
    }

    /// `main.main()`, `net/http.(*conn).serve(0xc000...)`: a package path, a function, an
    /// argument list, and no spaces before the parenthesis.
    var looksLikeGoFunctionCall: Bool {
        guard let open = firstIndex(of: UInt8(ascii: "(")), open > 0, last == UInt8(ascii: ")") || contains(UInt8(ascii: "+")) else { return false }
        return !self[0..<open].contains(0x20) && self[0..<open].contains(UInt8(ascii: "."))
    }
}
