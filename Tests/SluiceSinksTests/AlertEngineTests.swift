import Foundation
import SluiceCore
import Testing
import SluiceTesting

@testable import SluiceSinks

private func batch(_ lines: [String]) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "app"))
    var builder = EventBatchBuilder()
    for line in lines {
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}

private func rule(
    _ when: String, threshold: Int = 1, window: Double = 0, groupBy: [String] = [], cooldown: Double = 0,
    resolveAfter: Double? = nil, maxGroups: Int = 10_000, samples: Int = 5
) throws -> AlertRule {
    AlertRule(
        name: "r", condition: try ExpressionParser.parse(when), threshold: threshold, windowNanoseconds: UInt64(window * 1e9),
        groupBy: groupBy.map { FieldPath([$0]) }, cooldownNanoseconds: UInt64(cooldown * 1e9),
        resolveAfterNanoseconds: resolveAfter.map { UInt64($0 * 1e9) }, notify: ["n"], maxGroups: maxGroups, samples: samples
    )
}

private let second: UInt64 = 1_000_000_000

@Suite(.timeLimit(.minutes(10)), .watchdog) struct AlertEngineTests {
    @Test func everyMatchFiresByDefault() throws {
        let engine = AlertEngine(rules: [try rule("level >= error")])
        let fired = engine.process(batch([#"{"level":"error","n":1}"#, #"{"level":"info"}"#, #"{"level":"fatal","n":2}"#]), now: second)
        #expect(fired.count == 2)
        #expect(fired.allSatisfy { $0.status == .firing && $0.count == 1 && $0.notify == ["n"] })
        #expect(engine.statistics[0].matches == 2)
    }

    @Test func aThresholdMustBeReachedWithinTheWindow() throws {
        let engine = AlertEngine(rules: [try rule("level >= error", threshold: 3, window: 10)])
        let error = #"{"level":"error"}"#
        #expect(engine.process(batch([error, error]), now: 1 * second).isEmpty)
        // The first two are 20 s old when the third arrives: outside the window.
        #expect(engine.process(batch([error]), now: 21 * second).isEmpty)
        let fired = engine.process(batch([error, error]), now: 25 * second)
        #expect(fired.count == 1)
        #expect(fired.first?.count == 3)
        #expect(engine.process(batch([error]), now: 26 * second).isEmpty, "firing empties the window")
    }

    @Test func eachGroupHasItsOwnWindow() throws {
        let engine = AlertEngine(rules: [try rule("level >= error", threshold: 2, window: 60, groupBy: ["service"])])
        let fired = engine.process(batch([
            #"{"level":"error","service":"a"}"#, #"{"level":"error","service":"b"}"#, #"{"level":"error","service":"a"}"#,
        ]), now: second)
        #expect(fired.count == 1)
        #expect(fired.first?.group.map(\.value) == ["a"])
        #expect(fired.first?.groupDescription == "service=a")
        #expect(engine.trackedGroups(ofRule: 0) == 2)
    }

    @Test func theCooldownSuppressesRepeatsAndReportsThemNextTime() throws {
        let engine = AlertEngine(rules: [try rule("level >= error", cooldown: 300)])
        let error = #"{"level":"error"}"#
        #expect(engine.process(batch([error]), now: 1 * second).count == 1)
        #expect(engine.process(batch([error, error, error]), now: 100 * second).isEmpty)
        let next = engine.process(batch([error]), now: 302 * second)
        #expect(next.count == 1)
        #expect(next.first?.suppressed == 3)
        #expect(engine.statistics[0].suppressed == 3)
    }

    @Test func aQuietGroupIsResolved() throws {
        let engine = AlertEngine(rules: [try rule("level >= error", resolveAfter: 60)])
        #expect(engine.process(batch([#"{"level":"error"}"#]), now: 1 * second).count == 1)
        #expect(engine.tick(now: 30 * second).isEmpty)
        let resolved = engine.tick(now: 62 * second)
        #expect(resolved.map(\.status) == [.resolved])
        #expect(engine.tick(now: 200 * second).isEmpty, "resolved once")
    }

    @Test func aForgottenGroupStartsAfreshBesideNewOnes() throws {
        let engine = AlertEngine(rules: [try rule("level >= error", threshold: 2, window: 10, groupBy: ["service"])])
        #expect(engine.process(batch([#"{"level":"error","service":"a"}"#]), now: 1 * second).isEmpty)
        #expect(engine.tick(now: 30 * second).isEmpty)
        #expect(engine.trackedGroups(ofRule: 0) == 0, "quiet past its window: forgotten")
        // "b" takes the freed place; "a" comes back with an empty window.
        #expect(engine.process(batch([#"{"level":"error","service":"b"}"#, #"{"level":"error","service":"a"}"#]), now: 31 * second).isEmpty)
        let fired = engine.process(batch([#"{"level":"error","service":"a"}"#]), now: 32 * second)
        #expect(fired.map(\.groupDescription) == ["service=a"])
        #expect(fired.first?.count == 2)
        #expect(engine.trackedGroups(ofRule: 0) == 2)
    }

    @Test func aReloadKeepsTheStateOfUnchangedRulesOnly() throws {
        func rules(burstThreshold: Int) throws -> [AlertRule] {
            var burst = try rule("level >= error", threshold: burstThreshold, window: 60, groupBy: ["service"])
            burst.name = "burst"
            var quiet = try rule("level >= warn", cooldown: 300)
            quiet.name = "quiet"
            return [burst, quiet]
        }
        let running = AlertEngine(rules: try rules(burstThreshold: 2))
        let error = #"{"level":"error","service":"a"}"#
        #expect(running.process(batch([error]), now: 1 * second).map(\.rule) == ["quiet"])

        let unchanged = AlertEngine(rules: try rules(burstThreshold: 2))
        #expect(unchanged.adopt(running).sorted() == ["burst", "quiet"])
        // The burst window holds the first error, and the cooldown still runs.
        #expect(unchanged.process(batch([error]), now: 2 * second).map(\.rule) == ["burst"])
        #expect(unchanged.statistics[1].matches == 2)
        #expect(unchanged.statistics[1].suppressed == 1)

        var changed = try rules(burstThreshold: 3)
        changed[1].notify = ["other"]
        let reloaded = AlertEngine(rules: changed)
        #expect(reloaded.adopt(unchanged) == ["quiet"], "a new threshold starts the rule afresh; new notifiers do not")
        #expect(reloaded.trackedGroups(ofRule: 0) == 0)
        #expect(reloaded.process(batch([error]), now: 3 * second).isEmpty)
    }

    @Test func groupsBeyondTheCapAreCountedNotTracked() throws {
        let engine = AlertEngine(rules: [try rule("exists(id)", threshold: 5, groupBy: ["id"], maxGroups: 3)])
        _ = engine.process(batch((0..<10).map { #"{"id":\#($0)}"# }), now: second)
        #expect(engine.trackedGroups(ofRule: 0) == 3)
        #expect(engine.statistics[0].groupOverflow == 7)
    }

    @Test func notificationsCarryTheLastEventsAsSamples() throws {
        let engine = AlertEngine(rules: [try rule("level >= warn", threshold: 3, window: 60, samples: 2)])
        let fired = engine.process(batch([
            #"{"level":"warn","n":1,"ts":"2024-06-01T00:00:01Z"}"#, #"{"level":"warn","n":2}"#,
            #"{"level":"warn","n":3,"ts":"2024-06-01T00:00:03Z"}"#,
        ]), now: second)
        let samples = fired.first?.samples ?? []
        #expect(samples.count == 2)
        #expect(samples.first?.contains(#""n":2"#) == true)
        #expect(fired.first?.firstTimestampMilliseconds == 1_717_200_001_000)
        #expect(fired.first?.lastTimestampMilliseconds == 1_717_200_003_000)
    }

    /// Groups are ended and their slots reused while the table grows past its first capacity:
    /// every live group keeps its own window and samples through the moves.
    @Test func theGroupTableReusesSlotsAndKeepsStatesThroughGrowth() {
        let table = AlertGroupTable()
        var live: [Int32: Int] = [:]
        let event = Array(#"{"x":1}"#.utf8)
        for round in 0..<3 {
            for number in 0..<40 {
                let index = table.add(AlertGroupState(threshold: 4, samples: 2), labels: [("n", "\(round)-\(number)")])
                let matches = number % 4 + 1
                event.withUnsafeBytes { bytes in
                    for match in 0..<matches { table.state(index).pointee.record(arrival: UInt64(match), timestamp: 0, event: bytes) }
                }
                live[index] = matches
            }
            for index in live.keys.sorted() where index % 3 == 0 {
                table.remove(index)
                live[index] = nil
            }
        }
        for (index, matches) in live {
            #expect(table.state(index).pointee.count == matches)
            #expect(table.state(index).pointee.sampleTexts.count == min(matches, 2))
        }
        let other = AlertGroupTable()
        let (first, matches) = live.first!
        let moved = table.move(first, to: other)
        #expect(other.state(moved).pointee.count == matches)
        #expect(other.labels[Int(moved)].first?.field == "n")
    }
}
