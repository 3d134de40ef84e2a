import Foundation
import SluiceTesting
import Testing

@testable import SluiceCore
@testable import SluiceTransforms

/// Runs `steps` on each event (a JSON object as the encoder writes it); nil for a dropped one.
private func transform(_ steps: [TransformStep], _ events: [String]) -> [String?] {
    let runner = TransformRunner(TransformShared(TransformDefinition(name: "t", inputs: [], steps: steps)))
    return events.map { event in
        var text = event
        return text.withUTF8 { bytes in
            switch runner.process(EventRecord(json: UnsafeRawBufferPointer(bytes), timestampMilliseconds: 0, level: .info), now: 1) {
            case .kept(let output): String(decoding: output, as: UTF8.self)
            case .dropped: nil
            }
        }
    }
}

private func isValidJSON(_ text: String) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any]
}

private let everyPattern = RedactionSettings(patterns: RedactionPattern.allCases)

@Suite(.timeLimit(.minutes(10)), .watchdog) struct TransformTests {
    static let secrets = [
        "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117",
        "jane.doe+tag@example.co.uk", "ops@corp.io",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "abc123def456ghi789", "AKIAIOSFODNN7EXAMPLE", "hunter2", "k-123456", "10.20.30.40", "2001:db8::1",
    ]
    /// Texts each built-in pattern finds on its own.
    static let plantable = [
        "4111 1111 1111 1111", "jane.doe+tag@example.co.uk", "Bearer abc123def456ghi789", "AKIAIOSFODNN7EXAMPLE", "password=hunter2",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "10.20.30.40", "2001:db8::1",
    ]
    static let lookAlikes = [
        "order 1234567812345678", "version 1.2.3.4.5", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "uuid 123e4567-e89b-12d3-a456-426614174000", "at 2026-11-27T07:42:18.268Z", "user@localhost", "Bearer", "eyJ short",
        "id 0411111111111111", "AKIA too short", "phone +1 415 555 0100",
    ]

    /// Secrets of every built-in kind, planted in top-level fields, nested objects, arrays,
    /// escaped strings and plain messages, are gone; look-alikes are intact; JSON stays valid.
    @Test func plantedSecretsAreGoneAndLookAlikesSurvive() throws {
        let plain = "card 4111 1111 1111 1111, mail jane.doe+tag@example.co.uk, Authorization: Bearer abc123def456ghi789, key AKIAIOSFODNN7EXAMPLE, password=hunter2 from 10.20.30.40 and 2001:db8::1"
        let events = [
            #"{"message":"\#(plain)"}"#,
            #"{"user":{"email":"ops@corp.io","card":{"number":"5500-0000-0000-0004"}},"tags":["378282246310005",{"jwt":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}]}"#,
            #"{"quoted":"he said \"6011111111111117\" \\ ok","api_key":"k-123456","token":42}"#,
            #"{"message":"\#(Self.lookAlikes.joined(separator: "; "))","n":4111111111111111}"#,
        ]
        let outputs = transform([.redact(everyPattern)], events).map { $0 ?? "" }
        for (output, event) in zip(outputs, events) {
            #expect(isValidJSON(output), "\(output)")
            for secret in Self.secrets {
                #expect(!output.contains(secret), "\(secret) survived in \(output) (from \(event))")
            }
        }
        #expect(outputs[2].contains(#""token":"[REDACTED]""#), "a field named like a secret loses its value, whatever its type")
        let survivors = try #require(outputs.last)
        for lookAlike in Self.lookAlikes where !lookAlike.hasPrefix("version") {
            #expect(survivors.contains(lookAlike), "\(lookAlike) was eaten: \(survivors)")
        }
        #expect(survivors.contains(#""n":4111111111111111"#), "numbers are not strings: left alone")
        // ipv4 is opt-in: without it a version string survives.
        let withoutAddresses = transform([.redact(RedactionSettings(patterns: [.creditCard, .email]))], [#"{"message":"version 1.2.3.4"}"#])
        #expect(withoutAddresses == [#"{"message":"version 1.2.3.4"}"#])
    }

    /// Property: over random events, redaction always leaves valid JSON, and an event with
    /// nothing to find comes out byte for byte as it went in.
    @Test func redactionNeverBreaksJSONAndNeverTouchesAnEventWithoutAMatch() {
        var random = SeededRandom(seed: 20261201)
        let harmless = Array("abcdefghij KLMNOP qrst-_.,:;/\\\"\u{e9}\u{1F600}\t".unicodeScalars)
        for _ in 0..<2_000 {
            var fields: [String: Any] = [:]
            for index in 0..<Int.random(in: 1...6, using: &random) {
                let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...40, using: &random)).map { _ in harmless.randomElement(using: &random)! }))
                fields["f\(index)"] = Bool.random(using: &random) ? text : ["nested": [text, ["deep": text]]]
            }
            let clean = String(decoding: try! JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
            #expect(transform([.redact(everyPattern)], [clean]) == [clean], "changed without a match: \(clean)")
            fields["planted"] = Self.plantable.randomElement(using: &random)! + " \"quoted\\"
            let dirty = String(decoding: try! JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
            let output = transform([.redact(everyPattern)], [dirty])[0] ?? ""
            #expect(isValidJSON(output), "\(output)")
            #expect(output != dirty)
        }
    }

    @Test func fieldStepsReshapeTheEvent() {
        let event = #"{"msg":"hi","lvl":"warn","headers":{"cookie":"c","ua":"curl"},"debug":true,"payload":"{\"a\":[1,2],\"b\":{\"c\":null}}","service.version":"0"}"#
        let output = transform([
            .remove([FieldPath(["headers", "cookie"]), FieldPath(["debug"])]),
            .rename([(from: "msg", to: "message"), (from: "lvl", to: "level")]),
            .set([(key: "service.version", value: "1.4.2"), (key: "env", value: "dev \"x\"")]),
            .parseJSON("payload"),
        ], [event])[0]
        #expect(output == #"{"message":"hi","level":"warn","headers":{"ua":"curl"},"payload":{"a":[1,2],"b":{"c":null}},"service.version":"1.4.2","env":"dev \"x\""}"#)
        // Text that is not JSON is left as it is.
        #expect(transform([.parseJSON("payload")], [#"{"payload":"not json {"}"#]) == [#"{"payload":"not json {"}"#])
        // A rename onto an existing field replaces it.
        #expect(transform([.rename([(from: "msg", to: "message")])], [#"{"message":"old","msg":"new"}"#]) == [#"{"message":"new"}"#])
        // Later steps act on the fields a `set` added: removed, renamed (replacing the event's
        // field of that name), set again.
        let later = transform([
            .set([(key: "a", value: "1")]), .remove([FieldPath(["a"])]), .set([(key: "b", value: "2")]),
            .rename([(from: "b", to: "c")]), .set([(key: "d", value: "3")]), .set([(key: "d", value: "4")]),
        ], [#"{"x":1,"c":"old"}"#])
        #expect(later == [#"{"x":1,"c":"2","d":"4"}"#])
    }

    /// Property: over random objects (keys in any order, values of every JSON type, escapes,
    /// whitespace), the fused field steps give the same object as applying each step in turn
    /// to a dictionary.
    @Test func fieldStepsMatchAStepByStepReference() throws {
        var random = SeededRandom(seed: 20261202)
        let keys = ["a", "b", "c", "d", "ctx", "long_name_over_8"]
        let values: [Any] = ["x", "q\"uote\\", 12, -3.5, true, NSNull(), [1, "two"], ["x": 1, "region": "eu", "user": 7]]
        let steps: [TransformStep] = [
            .remove([FieldPath(["b"]), FieldPath(["ctx", "region"])]),
            .rename([(from: "a", to: "c"), (from: "long_name_over_8", to: "d")]),
            .set([(key: "d", value: "set"), (key: "e", value: "new")]),
            .remove([FieldPath(["ctx", "x"])]),
        ]
        for _ in 0..<500 {
            var fields: [(String, Any)] = []
            for key in keys.shuffled(using: &random).prefix(Int.random(in: 0...keys.count, using: &random)) {
                fields.append((key, values.randomElement(using: &random)!))
            }
            let members = try fields.map { key, value in
                let encoded = String(decoding: try JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed]), as: UTF8.self)
                return #""\#(key)"\#(Bool.random(using: &random) ? " : " : ":")\#(encoded.dropFirst().dropLast())"#
            }
            let event = "{" + members.joined(separator: Bool.random(using: &random) ? ", " : ",") + "}"
            var expected = Dictionary(uniqueKeysWithValues: fields)
            expected["b"] = nil
            if var ctx = expected["ctx"] as? [String: Any] {
                ctx["region"] = nil
                ctx["x"] = nil
                expected["ctx"] = ctx
            }
            if let a = expected.removeValue(forKey: "a") { expected["c"] = a }
            if let long = expected.removeValue(forKey: "long_name_over_8") { expected["d"] = long }
            expected["d"] = "set"
            expected["e"] = "new"
            let output = try #require(transform(steps, [event])[0])
            let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? NSDictionary
            #expect(parsed == expected as NSDictionary, "\(event) became \(output)")
        }
    }

    /// Property: the encoder running a transform's leading field steps as it writes each event
    /// (`EventEncoder.fuse`) gives exactly the events the transform gives on its own, for JSON
    /// objects of every shape (fields Sluice adds among them), plain lines and objects split
    /// over lines; and steps that touch a field Sluice adds are left to the transform.
    @Test func fieldStepsRunByTheEncoderGiveTheSameEvents() throws {
        var random = SeededRandom(seed: 20261203)
        let keys = ["a", "b", "msg", "ctx", "host", "ts", "lvl", "long_name_over_8"]
        let values = [#""x""#, #""q\"uote""#, "12", "-3.5e2", "true", "null", #"[1,"two"]"#, #"{"x":1,"region":"eu"}"#, #" { "region" : "us" } "#]
        var lines: [String] = []
        for _ in 0..<2_000 {
            let members = keys.shuffled(using: &random).prefix(Int.random(in: 0...keys.count, using: &random)).map { key in
                #""\#(key)":\#(values.randomElement(using: &random)!)"#
            }
            lines.append(Int.random(in: 0..<10, using: &random) == 0 ? "plain text \(lines.count)" : "{" + members.joined(separator: ",") + "}")
        }
        let metadata = EventMetadata(host: "h", sourceName: "s", labels: [(key: "team", value: "core")])
        func outputs(_ steps: [TransformStep], fused: Bool) -> (events: [String], fusedEvents: Int) {
            let shared = TransformShared(TransformDefinition(name: "t", inputs: [.source(0)], steps: steps))
            var encoder = EventEncoder(format: .auto, metadata: metadata)
            encoder.setReadTime(1_764_547_200_000)
            if fused { encoder.fuse(FusedShaping(transform: shared, edits: steps.prefix { $0.fieldEdit != nil }.compactMap(\.fieldEdit))) }
            var builder = EventBatchBuilder()
            for line in lines {
                var line = line
                line.withUTF8 { encoder.encode(FramedLine(bytes: UnsafeRawBufferPointer($0)), into: &builder) }
            }
            encoder.nameShaping(of: &builder)
            let batch = EventBatch(sourceIndex: 0, builder: builder)
            let fusedEvents = (0..<batch.count).filter { batch.preShapedBy === shared && batch.isPreShaped($0) }.count
            guard let output = TransformRunner(shared).apply(batch, outputIndex: 1, mayReuse: true) else { return ([], fusedEvents) }
            return ((0..<output.count).map { String(decoding: output[$0].json, as: UTF8.self) }, fusedEvents)
        }
        let reshaping: [TransformStep] = [
            .remove([FieldPath(["b"]), FieldPath(["ctx", "region"])]),
            .rename([(from: "msg", to: "message"), (from: "a", to: "long_name_over_8")]),
            .set([(key: "env", value: "prod"), (key: "a", value: "set")]),
            .filter(try ExpressionParser.parse("not exists(lvl)")),
        ]
        let alone = outputs(reshaping, fused: false), fused = outputs(reshaping, fused: true)
        #expect(alone.fusedEvents == 0 && fused.fusedEvents > 1_500, "\(fused.fusedEvents) of 2,000 events written reshaped")
        let same = alone.events == fused.events
        #expect(same, "the encoder's reshaping differs from the transform's (\(alone.events.count) and \(fused.events.count) events)")
        // Renaming onto `level` (a field Sluice writes): the encoder leaves it to the transform.
        let ontoLevel: [TransformStep] = [.rename([(from: "lvl", to: "level")])]
        let left = outputs(ontoLevel, fused: true)
        #expect(left.fusedEvents == 0 && left.events == outputs(ontoLevel, fused: false).events)
    }

    @Test func whereDropsAndCounts() throws {
        let shared = TransformShared(TransformDefinition(name: "t", inputs: [], steps: [.filter(try ExpressionParser.parse("status >= 500"))]))
        let runner = TransformRunner(shared)
        var builder = EventBatchBuilder()
        for status in [200, 503, 404, 500] {
            builder.ndjson.append(#"{"status":\#(status)}"# + "\n")
            builder.endEvent(level: .info, timestampMilliseconds: 0)
        }
        let output = try #require(runner.apply(EventBatch(sourceIndex: 0, builder: builder), outputIndex: 1, mayReuse: false))
        #expect(output.count == 2 && output.sourceIndex == 1)
        #expect(output.origin.sequence(at: 0) == 1 && output.origin.sequence(at: 1) == 3, "events keep their identities")
        #expect(shared.drops[0]?.counter.current == 2 && shared.drops[0]?.reason == "filtered")
        #expect(shared.eventsIn.current == 4 && shared.eventsOut.current == 2)
    }

    /// Without a key, exactly one in `rate`; with a key, whole traces are kept or dropped, and
    /// the share kept is within four standard deviations of 1/rate.
    @Test func samplingKeepsOneInNAndWholeTraces() {
        let plain = transform([.sample(SampleSettings(rate: 10))], (0..<100_000).map { #"{"n":\#($0)}"# })
        #expect(plain.compactMap { $0 }.count == 10_000)
        let traces = 10_000
        let events = (0..<traces).flatMap { trace in (0..<5).map { #"{"trace_id":"t-\#(trace)","n":\#($0)}"# } }
        let kept = transform([.sample(SampleSettings(rate: 10, key: FieldPath(["trace_id"])))], events)
        var perTrace: [Int] = Array(repeating: 0, count: traces)
        for (index, output) in kept.enumerated() where output != nil { perTrace[index / 5] += 1 }
        #expect(perTrace.allSatisfy { $0 == 0 || $0 == 5 }, "a trace was split")
        let keptTraces = perTrace.filter { $0 == 5 }.count
        #expect(abs(keptTraces - 1_000) <= 120, "kept \(keptTraces) of 10,000 traces at 1 in 10")
        // `where`: only debug events are sampled; the rest all go on.
        let mixed = transform([.sample(SampleSettings(rate: 1_000, filter: try! ExpressionParser.parse("level == debug")))],
                              (0..<1_000).map { #"{"level":"\#($0 % 2 == 0 ? "debug" : "error")"}"# })
        #expect(mixed.compactMap { $0 }.filter { $0.contains("error") }.count == 500)
    }

    /// Over a simulated 10 seconds of 10,000 attempts a second per key, each key gets its
    /// burst plus the rate times the time; keys past the table's size share one bucket.
    @Test func throttlingHoldsTheRatePerKey() {
        var buckets = TokenBuckets(ThrottleSettings(eventsPerSecond: 1_000, burst: 5_000, maxKeys: 3))
        var admitted = [UInt64: Int]()
        var overflows = 0
        for tick in 0..<100_000 {
            let now = UInt64(tick) * 100_000  // 10,000 attempts a second, 10 s
            for key in [UInt64(1), 2, 3, 4] {
                var overflowed = false
                if buckets.admit(key, now: now, overflowed: &overflowed) { admitted[key, default: 0] += 1 }
                if overflowed { overflows += 1 }
            }
        }
        for key in [UInt64(1), 2, 3] {
            #expect(abs(admitted[key, default: 0] - 15_000) <= 2, "key \(key): \(admitted[key, default: 0])")
        }
        #expect(overflows == 100_000, "the fourth key found the table full every time")
        #expect(abs(admitted[4, default: 0] - 15_000) <= 2, "the overflow bucket has the same rate")
    }

    /// Two source threads share a transform's state, each with the time it read at the start
    /// of its batch: a time older than one already recorded must not trap (it did: an unsigned
    /// subtraction underflowed, found by the thread-sanitized run of TransformStageTests).
    @Test func sharedStateTakesTimesOutOfOrder() {
        var recent = RecentKeys(DedupeSettings(fields: [], windowNanoseconds: 10))
        let first = recent.isDuplicate(1, now: 1_000)
        let older = recent.isDuplicate(1, now: 900)
        let otherOlder = recent.isDuplicate(2, now: 800)
        #expect(!first && older && !otherOlder)
        var buckets = TokenBuckets(ThrottleSettings(eventsPerSecond: 1, burst: 1))
        var overflowed = false
        let admitted = buckets.admit(1, now: 1_000, overflowed: &overflowed)
        let earlier = buckets.admit(1, now: 900, overflowed: &overflowed)
        #expect(admitted && !earlier)
    }

    @Test func dedupeDropsRepeatsWithinTheWindowAndCountsThem() {
        var recent = RecentKeys(DedupeSettings(fields: [], windowNanoseconds: 10_000_000_000))
        let first = recent.isDuplicate(7, now: 0)
        let within = recent.isDuplicate(7, now: 9_999_999_999)
        let after = recent.isDuplicate(7, now: 10_000_000_000)
        #expect(!first && within)
        #expect(!after, "a window after the one let through, it goes again")
        let shared = TransformShared(TransformDefinition(name: "t", inputs: [], steps: [.dedupe(DedupeSettings(fields: [FieldPath(["message"]), FieldPath(["host"])], windowNanoseconds: 10_000_000_000))]))
        let runner = TransformRunner(shared)
        var kept = 0
        for index in 0..<100 {
            var event = #"{"message":"m\#(index % 10)","host":"h"}"#
            let outcome = event.withUTF8 { runner.process(EventRecord(json: UnsafeRawBufferPointer($0), timestampMilliseconds: 0, level: .info), now: 1) }
            if case .kept = outcome { kept += 1 }
        }
        #expect(kept == 10)
        #expect(shared.drops[0]?.counter.current == 90 && shared.drops[0]?.reason == "duplicate")
    }
}
