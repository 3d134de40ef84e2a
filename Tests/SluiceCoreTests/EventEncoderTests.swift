import Foundation
import Testing
import SluiceTesting

@testable import SluiceCore

@Suite(.timeLimit(.minutes(10)), .watchdog) struct EventEncoderTests {
    @Test func aJSONLineKeepsItsFieldsAndGainsMetadata() {
        let result = encode([#"{"ts":"2024-06-01T00:00:00.123Z","level":"error","msg":"x","n":1.5,"ctx":{"a":[1]}}"#])
        let event = result.objects[0]
        #expect(event["@timestamp"] as? String == "2024-06-01T00:00:00.123Z")
        #expect(event["ts"] as? String == "2024-06-01T00:00:00.123Z")
        #expect(event["level"] as? String == "error")
        #expect(event["msg"] as? String == "x")
        #expect(event["n"] as? Double == 1.5)
        #expect((event["ctx"] as? [String: Any])?["a"] as? [Int] == [1])
        #expect(event["host"] as? String == "h1")
        #expect(event["source"] as? String == "app")
        #expect(result.levels == [.error])
    }

    @Test func theAppsOwnTimestampIsKeptAsWritten() {
        let result = encode([#"{"@timestamp":"2024-06-01T02:00:00+02:00","msg":"x"}"#])
        #expect(result.objects[0]["@timestamp"] as? String == "2024-06-01T02:00:00+02:00")
        #expect(result.texts[0].components(separatedBy: "@timestamp").count == 2)
    }

    @Test func timeFieldsArePreferredInOrderAndEpochNumbersWork() {
        let result = encode([
            #"{"time":"2024-06-01T00:00:01Z","ts":"2024-06-01T00:00:02Z"}"#,
            #"{"timestamp":1717200003}"#,
            #"{"ts":1717200004000}"#,
            #"{"ts":"not a time","msg":"falls back"}"#,
        ])
        #expect(result.objects.map { $0["@timestamp"] as? String } == [
            "2024-06-01T00:00:01.000Z", "2024-06-01T00:00:03.000Z", "2024-06-01T00:00:04.000Z", "2023-11-14T22:13:20.000Z",
        ])
        #expect(result.objects[3]["ts"] as? String == "not a time")
    }

    @Test func anUnreadableTimeFieldFallsThroughExceptAnExplicitAtTimestamp() {
        let result = encode([
            #"{"timestamp":"soon","time":"2024-06-01T00:00:05Z"}"#,
            #"{"@timestamp":"garbage","ts":"2024-06-01T00:00:06Z"}"#,
        ])
        #expect(result.timestamps[0] == 1_717_200_005_000)
        // The app's own @timestamp wins even unreadable: the event keeps it, indexed at read time.
        #expect(result.timestamps[1] != 1_717_200_006_000)
        #expect(result.objects[1]["@timestamp"] as? String == "garbage")
    }

    @Test func aLevelUnderAnotherKeyIsAddedNormalised() {
        let result = encode([
            #"{"lvl":"WARNING"}"#, #"{"severity":"crit"}"#, #"{"level":50}"#, #"{"log":{"level":"debug"}}"#, #"{"severity":3}"#,
        ])
        #expect(result.objects.map { $0["level"] as? String } == ["warn", "fatal", nil, "debug", "error"])
        #expect(result.objects[2]["level"] as? Int == 50)
        #expect(result.levels == [.warn, .fatal, .error, .debug, .error])
    }

    @Test func metadataNeverOverwritesAnAppField() {
        let metadata = EventMetadata(host: "h1", sourceName: "app", stream: "stderr", labels: [("service", "checkout"), ("msg", "label")])
        let result = encode([#"{"host":"app-host","service":"own","msg":"m"}"#], metadata: metadata)
        let event = result.objects[0]
        #expect(event["host"] as? String == "app-host")
        #expect(event["service"] as? String == "own")
        #expect(event["msg"] as? String == "m")
        #expect(event["stream"] as? String == "stderr")
        #expect(event["source"] as? String == "app")
        for key in ["host", "service", "msg"] {
            #expect(result.texts[0].components(separatedBy: "\"\(key)\":").count == 2, "duplicate \(key)")
        }
    }

    @Test func labelsAreAddedToPlainLinesButNeverReplaceTheMessage() {
        let metadata = EventMetadata(host: "h1", sourceName: "app", labels: [("service", "checkout"), ("message", "nope")])
        let event = encode(["hello"], metadata: metadata).objects[0]
        #expect(event["message"] as? String == "hello")
        #expect(event["service"] as? String == "checkout")
    }

    @Test func anythingElseBecomesAnEscapedMessage() {
        let result = encode(["plain \"quoted\" \\ text\twith\u{01}control", "[1,2]", #"{"broken":"#, "   "])
        #expect(result.objects.map { $0["message"] as? String } == [
            "plain \"quoted\" \\ text\twith\u{01}control", "[1,2]", #"{"broken":"#, "   ",
        ])
        #expect(result.objects.allSatisfy { $0["@timestamp"] as? String == "2023-11-14T22:13:20.000Z" })
        #expect(result.counts.unparsedLines == 0)
    }

    @Test func aJSONSourceCountsLinesThatAreNotObjects() {
        let result = encode(["not json", #"{"ok":true}"#], format: .json)
        #expect(result.counts.unparsedLines == 1)
        #expect(result.objects[0]["message"] as? String == "not json")
    }

    @Test func aPlainSourceNeverParses() {
        let result = encode([#"{"a":1}"#], format: .plain)
        #expect(result.objects[0]["message"] as? String == #"{"a":1}"#)
    }

    @Test func aLevelWordNearTheStartOfAPlainLineIsFound() {
        let result = encode([
            "2024-06-01T00:00:00Z ERROR [api] boom", "[warn] disk", "INFO: started",
            "user reported an error in the form", "Errors: none",
        ])
        #expect(result.levels == [.error, .warn, .info, .unknown, .unknown])
        #expect(result.objects[0]["level"] as? String == "error")
        #expect(result.objects[3]["level"] == nil)
    }

    @Test func invalidUTF8IsReplacedAndCounted() {
        let line: [UInt8] = Array(#"{"msg":"bad "#.utf8) + [0xFF] + Array(#""}"#.utf8)
        let result = withFramedLines([line, [0x61, 0xC3]]) { encode($0) }
        #expect(result.objects[0]["msg"] as? String == "bad \u{FFFD}")
        #expect(result.objects[1]["message"] as? String == "a\u{FFFD}")
        #expect(result.counts.invalidUTF8Lines == 2)
    }

    @Test func partsOfACutLineAreMarked() {
        let storage = [Array("first part".utf8), Array("second".utf8)]
        let result = withFramedLines(storage) { lines in
            encode([
                FramedLine(bytes: lines[0].bytes, part: 1, isLastPart: false),
                FramedLine(bytes: lines[1].bytes, part: 2, isLastPart: true),
            ])
        }
        #expect(result.objects.map { ($0["@split"] as? [String: Any])?["part"] as? Int } == [1, 2])
        #expect(result.objects.map { ($0["@split"] as? [String: Any])?["last"] as? Bool } == [false, true])
        #expect(result.counts.cutLineParts == 2)
    }

    @Test func emptyObjectsAndWhitespaceStillEncodeValidJSON() {
        let result = encode(["{}", "  { \"a\" : 1 }  "])
        #expect(result.objects[0]["@timestamp"] != nil)
        #expect(result.objects[1]["a"] as? Int == 1)
        #expect(result.objects.allSatisfy { $0["__invalid__"] == nil })
    }
}
