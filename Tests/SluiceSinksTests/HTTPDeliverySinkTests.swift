import Foundation
import SluiceCore
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceSinks

private func events(_ range: Range<Int>) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "app"))
    var builder = EventBatchBuilder()
    for number in range {
        Array(#"{"n":\#(number),"msg":"event \#(number)"}"#.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder, sourceName: "app")
}

/// Runs `count` events through an elasticsearch-shaped sink into `url`, returning its counters.
private func deliver(
    _ count: Int, to url: String, maxEvents: Int = 500, maxInFlight: Int = 4, gzip: Bool = true, deadLetter: String? = nil,
    headers: [(String, String)] = [], beforeFinish: () -> Void = {}
) throws -> SinkCounters {
    var retry = DeliveryStateMachine.Settings()
    retry.initialBackoffNanoseconds = 20_000_000
    retry.maximumBackoffNanoseconds = 200_000_000
    retry.unauthorizedBackoffNanoseconds = 50_000_000
    let settings = HTTPDeliverySettings(
        endpoint: url, headers: headers, maxEvents: maxEvents, gzipLevel: gzip ? 1 : nil, maxInFlight: maxInFlight,
        requestTimeoutNanoseconds: 5_000_000_000, retry: retry, deadLetterPath: deadLetter
    )
    let counters = SinkCounters(name: "search")
    let report = DeliveryReport(counters: counters, shutdown: ShutdownSignal())
    let sink = try HTTPDeliverySink(name: "search", settings: settings, format: BulkFormat(target: .index("logs-{source}")), report: report)
    for start in stride(from: 0, to: count, by: 250) {
        try sink.write(events(start..<min(start + 250, count)), endOfRun: true)
    }
    beforeFinish()
    try sink.finish()
    return counters
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct HTTPDeliverySinkTests {
    let directory = TemporaryDirectory()

    @Test func everyEventIsIndexedExactlyOnceInGzippedNDJSON() throws {
        let server = try FakeBulkServer()
        let counters = try deliver(10_000, to: server.url, maxEvents: 1000)
        #expect(counters.events.current == 10_000)
        #expect(server.indexed.count == 10_000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        let requests = server.requests
        #expect(requests.count == 10)
        #expect(requests.allSatisfy { $0.compressed && $0.contentType == "application/x-ndjson" && $0.problems.isEmpty })
        #expect(requests.allSatisfy { $0.items.allSatisfy { $0.action == "create" && $0.index == "logs-app" } })
    }

    @Test func itemFailuresAreRetriedAloneAndRejectionsDeadLettered() throws {
        let first = Atomic<Bool>(true)
        let server = try FakeBulkServer { request in
            guard first.exchange(false, ordering: .relaxed) else { return .index }
            return .items(request.items.indices.map { [1: 429, 2: 400, 3: 503][$0] ?? 201 })
        }
        let deadLetter = directory.path + "/dead/letters.ndjson"
        let counters = try deliver(100, to: server.url, maxEvents: 100, deadLetter: deadLetter)
        #expect(server.indexed.count == 99)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        #expect(server.requests.count == 2)
        #expect(server.requests[1].items.count == 2, "only the 429 and 503 items went again")
        #expect(counters.events.current == 99)
        #expect(counters.dropped(.deadLettered).current == 1)
        let letters = try String(contentsOfFile: deadLetter, encoding: .utf8).split(separator: "\n")
        #expect(letters.count == 1)
        let letter = try JSONSerialization.jsonObject(with: Data(letters[0].utf8)) as? [String: Any]
        #expect(letter?["status"] as? Int == 400)
        #expect((letter?["reason"] as? String)?.contains("mapper_parsing_exception") == true)
        #expect((letter?["event"] as? [String: Any])?["n"] as? Int == 2)
    }

    @Test func wholeRequestFailuresAndResetsAreRetriedWithoutDuplicates() throws {
        let calls = Atomic<Int>(0)
        let server = try FakeBulkServer { _ in
            switch calls.add(1, ordering: .relaxed).newValue {
            case 1: .status(503, body: "unavailable")
            case 2: .reset
            case 3: .status(429)
            default: .index
            }
        }
        let counters = try deliver(1000, to: server.url, maxEvents: 1000, maxInFlight: 1)
        #expect(server.indexed.count == 1000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        #expect(counters.retries.current >= 3)
        #expect(counters.currentProblem == nil, "healthy again")
    }

    @Test func aRequestTooLargeIsSplitInHalves() throws {
        let server = try FakeBulkServer { request in request.items.count > 100 ? .status(413) : .index }
        let counters = try deliver(400, to: server.url, maxEvents: 400, maxInFlight: 1)
        #expect(server.indexed.count == 400)
        #expect(counters.events.current == 400)
        #expect(server.requests.filter { $0.items.count <= 100 }.count == 4)
    }

    /// An outage the sink itself must ride out: the indexer answers 503 to everything for
    /// 700 ms (refused connections are retried inside the HTTP client's pool, so they may never
    /// reach the sink's own retries; a 503 always does), then indexes.
    @Test func noEventIsLostAcrossAnOutage() throws {
        let outageEnds = Date().addingTimeInterval(0.7)
        let server = try FakeBulkServer { _ in Date() < outageEnds ? .status(503, body: "unavailable") : .index }
        let counters = try deliver(2000, to: server.url, maxEvents: 500)
        #expect(server.indexed.count == 2000)
        #expect(server.indexed.values.allSatisfy { $0 == 1 })
        #expect(counters.retries.current >= 1, "the sink's retry path ran")
        #expect(counters.events.current == 2000)
    }

    @Test func requestsInFlightNeverExceedTheLimit() throws {
        let server = try FakeBulkServer { _ in .slowIndex(nanoseconds: 300_000_000) }
        _ = try deliver(2000, to: server.url, maxEvents: 200, maxInFlight: 2)
        let arrivals = server.arrivalTimes.sorted()
        #expect(arrivals.count == 10)
        // With two in flight, a third request only starts when one has been answered (300 ms).
        for (index, time) in arrivals.enumerated() where index + 2 < arrivals.count {
            #expect(arrivals[index + 2] - time >= 0.25, "three requests within \(arrivals[index + 2] - time) s")
        }
    }

    @Test func unauthorizedNamesTheSinkAndEndpointButNeverTheSecret() throws {
        let server = try FakeBulkServer { _ in .status(401, body: #"{"error":"unauthorized"}"#) }
        var retry = DeliveryStateMachine.Settings()
        retry.unauthorizedBackoffNanoseconds = 20_000_000
        let settings = HTTPDeliverySettings(endpoint: server.url, headers: [("Authorization", "ApiKey sup3r-s3cret")], retry: retry)
        let counters = SinkCounters(name: "search")
        let shutdown = ShutdownSignal()
        let report = DeliveryReport(counters: counters, shutdown: shutdown)
        let sink = try HTTPDeliverySink(name: "search", settings: settings, format: BulkFormat(target: .index("x")), report: report)
        try sink.write(events(0..<10), endOfRun: true)
        try sink.flush()
        let submitted = Thread { try? sink.finish() }
        submitted.start()
        #expect(Eventually.wait { counters.currentProblem != nil && server.requests.count >= 2 })
        let problem = counters.currentProblem ?? ""
        #expect(problem.contains("search") && problem.contains("HTTP 401"))
        #expect(!problem.contains("sup3r-s3cret"))
        shutdown.stopNow()
        #expect(Eventually.wait { counters.dropped(.shutdown).current == 10 })
    }
}
