import Foundation
import SluiceConfig
import SluiceCore
import Testing
import SluiceTesting

@testable import SluiceSinks

private func records(_ lines: [String], origin: EventOrigin? = nil) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "App"))
    encoder.setReadTime(1_717_200_000_000)
    var builder = EventBatchBuilder()
    for line in lines {
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder, origin: origin)
}

private func body(_ format: BulkFormat, _ batch: EventBatch) -> [[String: Any]] {
    let request = RequestBatch(capacity: 4096, nowNanoseconds: 0)
    for position in 0..<batch.count { format.append(batch[position], sourceName: "App", to: request) }
    let text = String(decoding: format.body(of: Array(0..<request.count), in: request), as: UTF8.self)
    #expect(text.hasSuffix("\n"))
    return text.split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) ?? [:] }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct BulkFormatTests {
    @Test func createActionsWithIndexFromTheEventTimeAndAnIDPerEvent() {
        let batch = records([#"{"ts":"2024-06-01T23:59:59Z","msg":"a"}"#, #"{"ts":"2024-06-02T00:00:01Z","msg":"b"}"#])
        let lines = body(BulkFormat(target: .index("logs-{source}-%Y.%m.%d")), batch)
        #expect(lines.count == 4)
        let first = lines[0]["create"] as? [String: String]
        let second = lines[2]["create"] as? [String: String]
        #expect(first?["_index"] == "logs-app-2024.06.01")
        #expect(second?["_index"] == "logs-app-2024.06.02")
        #expect(first?["_id"] != second?["_id"])
        #expect(lines[1]["msg"] as? String == "a")
        // The same event gets the same id in another request (a retry).
        let again = body(BulkFormat(target: .index("logs-{source}-%Y.%m.%d")), batch)
        #expect((again[0]["create"] as? [String: String])?["_id"] == first?["_id"])
    }

    /// An id is the event's stream (16 hex digits) and its sequence in it.
    @Test func anIDIsTheStreamAndTheSequence() {
        let origin = EventOrigin(stream: 0x3F9A_1C0E_5B7D_2A41, firstSequence: 1041)
        let lines = body(BulkFormat(target: .dataStream("logs")), records([#"{"msg":"a"}"#, #"{"msg":"a"}"#], origin: origin))
        #expect((lines[0]["create"] as? [String: String])?["_id"] == "3f9a1c0e5b7d2a41-1041")
        #expect((lines[2]["create"] as? [String: String])?["_id"] == "3f9a1c0e5b7d2a41-1042")
        let kept = records([#"{"msg":"a"}"#, #"{"msg":"b"}"#, #"{"msg":"c"}"#], origin: origin).keeping([0, 2])
        let filtered = body(BulkFormat(target: .dataStream("logs")), kept)
        #expect((filtered[2]["create"] as? [String: String])?["_id"] == "3f9a1c0e5b7d2a41-1043", "a filtered batch keeps each event's own id")
    }

    @Test func identicalEventsGetDistinctIDsInOneBatchAndAcrossBatches() {
        let format = BulkFormat(target: .dataStream("logs-{source}-default"))
        let lines = body(format, records([#"{"msg":"same"}"#, #"{"msg":"same"}"#])) + body(format, records([#"{"msg":"same"}"#]))
        let ids = [lines[0], lines[2], lines[4]].compactMap { ($0["create"] as? [String: String])?["_id"] }
        #expect(ids.count == 3 && Set(ids).count == 3)
        #expect((lines[0]["create"] as? [String: String])?["_index"] == "logs-App-default")
    }

    @Test func responsesAreReadItemByItemOnlyWhenThereAreErrors() {
        let format = BulkFormat(target: .index("x"))
        #expect(format.interpret(status: 200, body: Array(#"{"took":3,"errors":false,"items":[]}"#.utf8), itemCount: 2) == .accepted)
        let mixed = #"{"took":3,"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception"}}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [status]"}}}]}"#
        #expect(format.interpret(status: 200, body: Array(mixed.utf8), itemCount: 4) == .perItem([
            .accepted, .alreadyPresent, .retry("item status 429: es_rejected_execution_exception: queue full"),
            .rejected(status: 400, reason: "mapper_parsing_exception: failed to parse field [status]"),
        ]))
        #expect(format.interpret(status: 413, body: [], itemCount: 1) == .tooLarge)
        #expect(format.interpret(status: 503, body: Array("busy".utf8), itemCount: 1) == .retryable("HTTP 503: busy"))
        #expect(format.interpret(status: 403, body: [], itemCount: 1) == .unauthorized("HTTP 403: "))
        #expect(format.interpret(status: 400, body: [], itemCount: 1) == .rejected(status: 400, reason: "HTTP 400: "))
    }

    @Test func theHTTPSinkWritesNDJSONOrAJSONArray() {
        let batch = records([#"{"a":1}"#, #"{"a":2}"#])
        for (encoding, check) in [(PlainFormat.Encoding.ndjson, "\n"), (.jsonArray, "[")] {
            let format = PlainFormat(encoding: encoding)
            let request = RequestBatch(capacity: 1024, nowNanoseconds: 0)
            for position in 0..<batch.count { format.append(batch[position], sourceName: "s", to: request) }
            let text = String(decoding: format.body(of: [0, 1], in: request), as: UTF8.self)
            #expect(text.contains(check))
            if encoding == .jsonArray {
                #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])?.count == 2)
            }
        }
    }

    @Test func aUsernameAndPasswordBecomeABasicAuthorizationHeader() throws {
        let context = ConfigContext(environment: [:])
        let root = try YAMLLoader.parse("sinks: { s: { endpoint: 'http://127.0.0.1:9200', username: elastic, password: changeme } }", file: "t.yaml").get()
        let settings = ElasticsearchSettings(reading: ConfigReader(root: root, context: context).section("sinks").section("s"))
        #expect(context.issues.isEmpty)
        #expect(settings.delivery.headers.contains { $0 == ("Authorization", "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==") })
    }
}
