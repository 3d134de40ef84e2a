import Testing
import SluiceTesting

@testable import SluiceCore

@Suite(.timeLimit(.minutes(10)), .watchdog) struct LogfmtTests {
    @Test func pairsBecomeStringFields() {
        let event = encode([#"ts=2024-06-01T00:00:00Z level=warn msg="request \"done\" ok" path=/a?b=c dur=1.5 debug"#], format: .logfmt).objects[0]
        #expect(event["@timestamp"] as? String == "2024-06-01T00:00:00.000Z")
        #expect(event["ts"] as? String == "2024-06-01T00:00:00Z")
        #expect(event["level"] as? String == "warn")
        #expect(event["msg"] as? String == #"request "done" ok"#)
        #expect(event["path"] as? String == "/a?b=c")
        #expect(event["dur"] as? String == "1.5")
        #expect(event["debug"] as? Bool == true)
        #expect(event["source"] as? String == "app")
    }

    @Test func escapesAndEmptyValuesAndRepeatedKeys() {
        let event = encode([#"a="line\nbreak \u00e9" b= a=second"#], format: .logfmt).objects[0]
        #expect(event["a"] as? String == "line\nbreak é")
        #expect(event["b"] as? String == "")
    }

    @Test func aLevelUnderAnotherKeyIsAdded() {
        let result = encode(["lvl=ERR msg=x", "severity=warning msg=y"], format: .logfmt)
        #expect(result.objects.map { $0["level"] as? String } == ["error", "warn"])
    }

    @Test func aLineThatIsNotLogfmtIsAMessageAndCounted() {
        let result = encode(["just words here", #"key="unterminated"#, "=novalue"], format: .logfmt)
        #expect(result.objects.map { $0["message"] as? String } == ["just words here", #"key="unterminated"#, "=novalue"])
        #expect(result.counts.unparsedLines == 3)
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct SyslogTests {
    @Test func rfc5424WithStructuredData() {
        let line = #"<165>1 2024-06-01T00:00:00.123Z web1 shop 4242 ID47 [exampleSDID@32473 iut="3" eventSource="App\]x"][meta a="b"] "# + "\u{FEFF}order placed"
        let result = encode([line], format: .syslog)
        let event = result.objects[0]
        #expect(event["@timestamp"] as? String == "2024-06-01T00:00:00.123Z")
        #expect(event["facility"] as? String == "local4")
        #expect(event["severity"] as? String == "notice")
        #expect(event["level"] as? String == "info")
        #expect(event["hostname"] as? String == "web1")
        #expect(event["appname"] as? String == "shop")
        #expect(event["procid"] as? String == "4242")
        #expect(event["msgid"] as? String == "ID47")
        let data = event["structured_data"] as? [String: [String: String]]
        #expect(data?["exampleSDID@32473"]?["eventSource"] == "App]x")
        #expect(data?["meta"]?["a"] == "b")
        #expect(event["message"] as? String == "order placed")
        #expect(result.counts.unparsedLines == 0)
    }

    @Test func rfc5424NilValues() {
        let event = encode(["<14>1 - - - - - - hi"], format: .syslog).objects[0]
        #expect(event["hostname"] == nil)
        #expect(event["message"] as? String == "hi")
        #expect(event["@timestamp"] as? String == "2023-11-14T22:13:20.000Z")
    }

    @Test func rfc3164WithAndWithoutHost() {
        let result = encode(["<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed", "<13>Nov  5 07:28:32 root: local message"], format: .syslog)
        #expect(result.objects[0]["hostname"] as? String == "mymachine")
        #expect(result.objects[0]["appname"] as? String == "su")
        #expect(result.objects[0]["procid"] as? String == "123")
        #expect(result.objects[0]["severity"] as? String == "crit")
        #expect(result.objects[0]["level"] as? String == "fatal")
        #expect(result.objects[0]["message"] as? String == "'su root' failed")
        #expect(result.objects[0]["@timestamp"] as? String == "2023-10-11T22:14:15.000Z")
        #expect(result.objects[1]["hostname"] == nil)
        #expect(result.objects[1]["appname"] as? String == "root")
        #expect(result.objects[1]["message"] as? String == "local message")
        #expect(result.objects[1]["@timestamp"] as? String == "2023-11-05T07:28:32.000Z")
    }

    @Test func notSyslogIsAMessageAndCounted() {
        let result = encode(["no priority", "<999>too big", "<12"], format: .syslog)
        #expect(result.objects.map { $0["message"] as? String } == ["no priority", "<999>too big", "<12"])
        #expect(result.counts.unparsedLines == 3)
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct OctetCountingTests {
    private func frame(_ chunks: [String], maxLineBytes: Int = 1024) -> [String] {
        var framer = LineFramer(maxLineBytes: maxLineBytes, readSize: 64, framing: .octetCounting)
        var lines: [String] = []
        for chunk in chunks {
            Array(chunk.utf8).withUnsafeBytes { framer.append($0) }
            while let line = framer.nextLine() { lines.append(String(decoding: line.bytes, as: UTF8.self) + (line.part > 0 ? "#\(line.part)" : "")) }
        }
        while let line = framer.finish() { lines.append(String(decoding: line.bytes, as: UTF8.self)) }
        return lines
    }

    @Test func framesByLengthIncludingNewlinesInside() {
        #expect(frame(["11 hello\nworld5 ab", "cde"]) == ["hello\nworld", "abcde"])
    }

    @Test func toleratesNewlinesBetweenFramesAndFallsBackForText() {
        #expect(frame(["5 first\n", "plain line\n", "3 end"]) == ["first", "plain line", "end"])
    }

    @Test func cutsAFrameLongerThanTheLimit() {
        #expect(frame(["40 " + String(repeating: "x", count: 40)], maxLineBytes: 16) == [
            String(repeating: "x", count: 16) + "#1", String(repeating: "x", count: 16) + "#2", "xxxxxxxx#3",
        ])
    }
}
