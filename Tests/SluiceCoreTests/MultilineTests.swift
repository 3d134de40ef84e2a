import Testing
import SluiceTesting

@testable import SluiceCore

/// Runs lines through a joiner; returns the groups, with `now` advancing 1 ms per line.
private func join(_ lines: [String], _ settings: MultilineSettings) -> [String] {
    var joiner = MultilineJoiner(settings: settings)
    var groups: [String] = []
    var now: UInt64 = 0
    for line in lines {
        now += 1_000_000
        let completed = Array(line.utf8).withUnsafeBytes { joiner.add($0, now: now) }
        if completed { groups.append(String(decoding: joiner.completedGroup, as: UTF8.self)) }
    }
    if joiner.close() { groups.append(String(decoding: joiner.completedGroup, as: UTF8.self)) }
    return groups
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct MultilineTests {
    @Test func javaStackTraces() {
        let lines = [
            "2024-06-01 ERROR request failed",
            "java.lang.IllegalStateException: boom",
            "\tat com.example.App.run(App.java:10)",
            "Caused by: java.io.IOException: disk",
            "\t... 3 more",
            "2024-06-01 INFO next",
        ]
        #expect(join(lines, MultilineSettings(rule: .preset(.java))) == [
            "2024-06-01 ERROR request failed\njava.lang.IllegalStateException: boom\n\tat com.example.App.run(App.java:10)\nCaused by: java.io.IOException: disk\n\t... 3 more",
            "2024-06-01 INFO next",
        ])
    }

    /// An exception line joins only a lone line that speaks of a problem, and only a qualified
    /// class name ending in Exception, Error or Throwable is one.
    @Test func javaExceptionLinesJoinOnlyAProblemReport() {
        let lines = [
            "2024-06-01 INFO started",
            "java.lang.IllegalStateException: printed after an info line",
            "\tat com.example.App.run(App.java:10)",
            "2024-06-01 WARN retrying",
            "com.acme.Client$Timeout: not an exception name",
            "2024-06-01 WARN retrying",
            "com.acme.TimeoutError",
        ]
        #expect(join(lines, MultilineSettings(rule: .preset(.java))) == [
            "2024-06-01 INFO started",
            "java.lang.IllegalStateException: printed after an info line\n\tat com.example.App.run(App.java:10)",
            "2024-06-01 WARN retrying",
            "com.acme.Client$Timeout: not an exception name",
            "2024-06-01 WARN retrying\ncom.acme.TimeoutError",
        ])
    }

    @Test func pythonTracebacksJoinTheLogLineBeforeThem() {
        let lines = [
            "ERROR:root:failed",
            "Traceback (most recent call last):",
            "  File \"x.py\", line 1, in <module>",
            "    foo()",
            "ValueError: bad",
            "INFO:root:next",
        ]
        #expect(join(lines, MultilineSettings(rule: .preset(.python))) == [
            "ERROR:root:failed\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    foo()\nValueError: bad",
            "INFO:root:next",
        ])
    }

    @Test func goPanics() {
        let lines = [
            "starting",
            "panic: runtime error: index out of range [5] with length 3",
            "",
            "goroutine 1 [running]:",
            "main.main()",
            "\t/tmp/x.go:8 +0x1d",
            "exit status 2",
            "restarted",
        ]
        #expect(join(lines, MultilineSettings(rule: .preset(.go))) == [
            "starting",
            "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/x.go:8 +0x1d\nexit status 2",
            "restarted",
        ])
    }

    @Test func startAndContinuePatterns() throws {
        let start = MultilineSettings(rule: .start(try Pattern("^[0-9]{4}-")))
        #expect(join(["2024- a", "more", "2024- b"], start) == ["2024- a\nmore", "2024- b"])
        let continuation = MultilineSettings(rule: .continuation(try Pattern("^\\s")))
        #expect(join(["a", " b", " c", "d"], continuation) == ["a\n b\n c", "d"])
    }

    @Test func groupsStopAtTheirLimits() {
        let settings = MultilineSettings(rule: .preset(.java), maxLines: 3, maxBytes: 1 << 20)
        #expect(join(["x", " 1", " 2", " 3", " 4"], settings) == ["x\n 1\n 2", " 3\n 4"])
        let small = MultilineSettings(rule: .preset(.java), maxLines: 100, maxBytes: 8)
        #expect(join(["abcd", " efg", " hij"], small) == ["abcd", " efg", " hij"])
    }

    @Test func anOpenGroupHasADeadline() {
        var joiner = MultilineJoiner(settings: MultilineSettings(rule: .preset(.java), timeoutNanoseconds: 500))
        #expect(joiner.deadline == nil)
        _ = Array("x".utf8).withUnsafeBytes { joiner.add($0, now: 1000) }
        #expect(joiner.deadline == 1500)
        let closed = joiner.close()
        #expect(closed)
        #expect(joiner.deadline == nil)
    }

    @Test func invalidPatternsSayWhy() throws {
        #expect(throws: PatternError.self) { try Pattern("([unclosed") }
        #expect(try Pattern("^a.c$").matches("abc"))
        #expect(try !Pattern("^a.c$").matches("abcd"))
    }
}
