import Foundation
import SluiceTesting
import Testing

@testable import SluiceCore

/// A batch of JSON events numbered from `first`, one in ten an error.
private func batch(_ first: Int, _ count: Int) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "app"))
    var builder = EventBatchBuilder()
    for number in first..<(first + count) {
        Array(#"{"n":\#(number),"level":"\#(number % 10 == 0 ? "error" : "info")"}"#.utf8)
            .withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}

private func lines(_ drained: TapSubscription.Drained) -> [[String: Any]] {
    String(decoding: drained.lines, as: UTF8.self).split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct TapSubscriptionTests {
    @Test func itKeepsWhatPassesItsFilterForTheComponentsItNames() throws {
        let hub = TapHub()
        #expect(!hub.isTapped)
        let subscription = TapSubscription(components: ["scrub"], filter: try ExpressionParser.parse("level >= error"), eventsPerSecond: 1_000_000)
        hub.subscribe(subscription)
        #expect(hub.isTapped)
        hub.offer(batch(0, 100), component: "scrub", point: .output)
        hub.offer(batch(100, 100), component: "other", point: .output)
        let drained = subscription.drain()
        let taken = lines(drained)
        #expect(drained.count == 10 && taken.count == 10)
        #expect(taken.compactMap { ($0["event"] as? [String: Any])?["n"] as? Int } == Array(stride(from: 0, to: 100, by: 10)))
        #expect(taken.allSatisfy { $0["component"] as? String == "scrub" && $0["point"] as? String == "output" })
        #expect(subscription.drain().count == 0, "drained once")
        hub.unsubscribe(subscription)
        #expect(!hub.isTapped)
    }

    @Test func withoutNamesItTakesOutputsAndNotSinkInputs() {
        let subscription = TapSubscription(components: [], filter: nil, eventsPerSecond: 1_000_000)
        #expect(subscription.wants("app", .output))
        #expect(!subscription.wants("search", .input))
        let named = TapSubscription(components: ["search"], filter: nil, eventsPerSecond: 1)
        #expect(named.wants("search", .input) && !named.wants("app", .output))
    }

    @Test func theRateSamplesAndTheCapacityDrops() {
        let sampled = TapSubscription(components: ["app"], filter: nil, eventsPerSecond: 5)
        sampled.take(batch(0, 100), component: "app", point: .output)
        let first = sampled.drain()
        #expect(first.count == 5 && first.sampledOut == 95 && first.dropped == 0)

        let small = TapSubscription(components: ["app"], filter: nil, eventsPerSecond: 1_000_000, capacity: 30)
        small.take(batch(0, 100), component: "app", point: .output)
        let full = small.drain()
        #expect(full.count == 30 && full.dropped == 70 && full.sampledOut == 0)
        small.take(batch(100, 10), component: "app", point: .output)
        #expect(small.drain().count == 10, "room again once drained")
    }

    @Test func manyThreadsOfferingNeverLoseCountOfAnEvent() {
        let hub = TapHub()
        let subscription = TapSubscription(components: [], filter: nil, eventsPerSecond: 1_000_000, capacity: 1_000_000)
        hub.subscribe(subscription)
        // Threads of their own (not the test pool's, which the end-to-end tests keep busy).
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for round in 0..<50 { hub.offer(batch(thread * 10_000 + round * 100, 100), component: "s\(thread)", point: .output) }
        }
        let drained = subscription.drain()
        #expect(drained.count + drained.dropped + hub.takeSkipped() == 20_000, "taken or counted: \(drained.count) + \(drained.dropped)")
    }
}
