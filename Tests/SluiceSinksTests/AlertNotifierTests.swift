import Foundation
import SluiceCore
import SluiceSync
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceSinks

private let notification = AlertNotification(
    rule: "error-burst", status: .firing, group: [("service", "checkout")], count: 5, suppressed: 2,
    windowNanoseconds: 60_000_000_000, firstTimestampMilliseconds: 1_717_200_000_000, lastTimestampMilliseconds: 1_717_200_030_000,
    samples: [#"{"msg":"db down","level":"error"}"#], notify: ["oncall"]
)

@Suite(.timeLimit(.minutes(10)), .watchdog) struct AlertNotifierTests {
    @Test func aJSONWebhookCarriesTheWholeNotification() throws {
        let server = try HTTPTestServer { _ in .init(status: 200) }
        let notifier = WebhookNotifier(name: "oncall", url: server.url + "/hook", headers: [("X-Token", "t0k")], sinkName: "alerts", host: "h")
        let dispatcher = NotificationDispatcher(notifier: notifier)
        dispatcher.enqueue(notification)
        dispatcher.finish(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 30_000_000_000)
        #expect(Eventually.wait { server.requests.count == 1 })
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.uri == "/hook")
        #expect(request.header("X-Token") == "t0k")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(body["rule"] as? String == "error-burst")
        #expect(body["status"] as? String == "firing")
        #expect((body["group"] as? [String: String])?["service"] == "checkout")
        #expect(body["count"] as? Int == 5)
        #expect(body["suppressed"] as? Int == 2)
        #expect(body["window"] as? String == "1m")
        #expect(body["first"] as? String == "2024-06-01T00:00:00.000Z")
        #expect((body["samples"] as? [[String: Any]])?.first?["msg"] as? String == "db down")
        #expect(dispatcher.counters.sent.current == 1)
    }

    @Test func aSlackWebhookRendersItsTemplate() throws {
        let server = try HTTPTestServer { _ in .init(status: 200, body: "ok", contentType: "text/plain") }
        let notifier = WebhookNotifier(
            name: "slack", url: server.url, format: .slack, template: "{rule} hit {count} times in {window} on {service}: {msg} {unknown}",
            sinkName: "alerts", host: "h"
        )
        let dispatcher = NotificationDispatcher(notifier: notifier)
        dispatcher.enqueue(notification)
        dispatcher.finish(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 30_000_000_000)
        #expect(Eventually.wait { server.requests.count == 1 })
        let request = try #require(server.requests.first)
        let body = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: String]
        #expect(body?["text"] == "error-burst hit 5 times in 1m on checkout: db down {unknown}")
    }

    @Test func aFailingReceiverIsRetriedUntilItRecovers() throws {
        let calls = Atomic<Int>(0)
        let server = try HTTPTestServer { _ in
            calls.add(1, ordering: .relaxed).newValue <= 2 ? .init(status: 503) : .init(status: 200)
        }
        let dispatcher = NotificationDispatcher(
            notifier: WebhookNotifier(name: "flaky", url: server.url, sinkName: "alerts", host: "h"),
            settings: .init(retries: 3, initialBackoffNanoseconds: 10_000_000)
        )
        dispatcher.enqueue(notification)
        dispatcher.finish(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 30_000_000_000)
        #expect(server.requests.count == 3)
        #expect(dispatcher.counters.retried.current == 2)
        #expect(dispatcher.counters.sent.current == 1)
        #expect(dispatcher.counters.failed.current == 0)
    }

    @Test func anUnreachableReceiverIsCountedAsAFailure() {
        let dispatcher = NotificationDispatcher(
            notifier: WebhookNotifier(name: "gone", url: "http://127.0.0.1:1/nothing", timeoutNanoseconds: 1_000_000_000, sinkName: "alerts", host: "h"),
            settings: .init(retries: 1, initialBackoffNanoseconds: 10_000_000)
        )
        dispatcher.enqueue(notification)
        dispatcher.finish(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 30_000_000_000)
        #expect(dispatcher.counters.failed.current == 1)
        #expect(dispatcher.counters.sent.current == 0)
    }

    @Test func theRateLimitDropsAndCounts() throws {
        let server = try HTTPTestServer { _ in .init(status: 200) }
        let dispatcher = NotificationDispatcher(
            notifier: WebhookNotifier(name: "limited", url: server.url, sinkName: "alerts", host: "h"),
            settings: .init(ratePerMinute: 3)
        )
        for _ in 0..<10 { dispatcher.enqueue(notification) }
        dispatcher.finish(deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 30_000_000_000)
        #expect(dispatcher.counters.sent.current == 3)
        #expect(dispatcher.counters.rateLimited.current == 7)
    }
}
