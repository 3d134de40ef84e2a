import Foundation
import SluiceKit
import Testing
import SluiceTesting

/// A sink type of a team's own: keeps what it is given, and fails when told to.
final class Collector: EventSink {
    struct Received: Sendable {
        let source: String
        let json: String
        let n: String?
        let team: String?
        let level: LogLevel?
    }

    /// Shared by the sinks' threads: behind a pthread mutex (NSLock), which ThreadSanitizer
    /// follows; a contended `Synchronization.Mutex` is handed over inside the kernel, where it
    /// cannot (see `Locked` in SluiceRing).
    static let received = LockedValue<[String: [Received]]>([:])
    let key: String
    private var failuresLeft: Int
    private var finished = false

    init(key: String, failFirstWrites: Int) {
        self.key = key
        failuresLeft = failFirstWrites
    }

    func write(_ events: Events) throws {
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw SinkFailure.retry("collector busy")
        }
        let batch = events.map { Received(source: events.sourceName, json: $0.json, n: $0["n"], team: $0["team"], level: $0.level) }
        let lines = events.withNDJSONBytes { $0.count { $0 == 0x0A } }
        precondition(lines == events.count, "the NDJSON holds one line per event")
        Self.received.withLock { $0[key, default: []] += batch }
    }

    func finish() throws {
        finished = true
    }
}

/// A value behind an `NSLock`.
final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A source type of a team's own: counts from zero, in chunks, then ends.
final class Counter: EventSource {
    let count: Int
    let chunk: Int

    init(count: Int, chunk: Int) {
        self.count = count
        self.chunk = chunk
    }

    func run(_ output: SourceOutput) throws {
        output.markReady()
        for start in stride(from: 0, to: count, by: chunk) {
            let lines = (start..<min(count, start + chunk)).map { #"{"n":\#($0),"level":"\#($0 % 10 == 0 ? "ERROR" : "info")"}"# }
            guard output.emit(lines: lines) else { return }
        }
        output.emit("plain text, last")
    }
}

let extensions: [SluiceExtension] = [
    .source("counter") { settings in
        let count = settings.int("count", default: 10, range: 0...1_000_000)
        let chunk = settings.int("chunk", default: 100, range: 1...10_000)
        return { Counter(count: count, chunk: chunk) }
    },
    .sink("collector") { settings in
        let key = settings.requiredString("key", hint: "where the test finds what it got")
        let failures = settings.int("fail_first_writes", default: 0, range: 0...10)
        return { Collector(key: key, failFirstWrites: failures) }
    },
]

@Suite("a custom source and sink through SluiceKit's public API", .serialized, .timeLimit(.minutes(10)), .watchdog)
struct ExtensionTests {
    private func configuration(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-api-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func eventsFromACustomSourceReachACustomSinkThroughFiltersAndRetries() throws {
        let key = UUID().uuidString
        let file = try configuration("""
            sources:
              numbers: { type: counter, count: 2500, chunk: 300, labels: { team: payments } }
            sinks:
              errors: { type: collector, key: "\(key)-errors", where: 'level >= error', fail_first_writes: 2 }
              everything: { type: collector, key: "\(key)-all" }
            metrics: { enabled: false }
            """)
        #expect(Sluice.run(arguments: ["--config", file], extensions: extensions) == 0)
        let all = Collector.received.withLock { $0["\(key)-all"] ?? [] }
        #expect(all.count == 2501)
        #expect(all.prefix(2500).map(\.n) == (0..<2500).map { String($0) })
        #expect(all.allSatisfy { $0.source == "numbers" && $0.team == "payments" })
        #expect(all.last?.json.contains(#""message":"plain text, last""#) == true)
        let errors = Collector.received.withLock { $0["\(key)-errors"] ?? [] }
        #expect(errors.count == 250)
        #expect(errors.allSatisfy { $0.level == .error })
    }

    @Test func aCustomTypesSettingsAreValidatedLikeBuiltInOnes() throws {
        let file = try configuration("""
            sources:
              numbers: { type: counter, count: -5, colour: blue }
            sinks:
              out: { type: collector }
            """)
        #expect(Sluice.run(arguments: ["validate", "--config", file], extensions: extensions) == 78)
        #expect(Sluice.run(arguments: ["--config", file], extensions: extensions) == 78)
    }
}
