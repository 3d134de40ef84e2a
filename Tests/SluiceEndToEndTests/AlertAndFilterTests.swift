import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("alerts and where filters, through the binary", .timeLimit(.minutes(10)), .watchdog)
struct AlertAndFilterTests {
    let directory = TemporaryDirectory()

    private var config: String {
        directory.write("alerts.yaml", """
            sources: { app: { type: stdin, labels: { service: checkout } } }
            sinks:
              errors: { type: console, where: 'level >= error and msg !~ /ignore me/' }
              alerts:
                type: alert
                rules:
                  - name: error-burst
                    when: 'level >= error'
                    threshold: 3
                    window: 1m
                    group_by: [service]
                    cooldown: 5m
                    notify: [oncall, dev]
                notifiers:
                  oncall: { type: webhook, url: "${ALERT_WEBHOOK_URL}", format: json }
                  dev: { type: console }
            """)
    }

    @Test func anErrorBurstReachesTheWebhookAndOnlyErrorsReachTheFilteredSink() throws {
        let receiver = try HTTPTestServer { _ in .init(status: 200) }
        let input = [
            #"{"level":"info","msg":"fine"}"#, #"{"level":"error","msg":"one"}"#, #"{"level":"error","msg":"ignore me"}"#,
            #"{"level":"warn","msg":"meh"}"#, #"{"level":"error","msg":"three"}"#, #"{"level":"error","msg":"four"}"#,
        ].joined(separator: "\n") + "\n"
        let sluice = try SluiceBinary.launch(
            ["--config", config], environment: ["ALERT_WEBHOOK_URL": receiver.url + "/alerts?token=s3cret-token"],
            stdin: .file(directory.write("in.log", input))
        )
        #expect(sluice.wait().exitStatus == 0)
        #expect(events(sluice.standardOutputLines).compactMap { $0["msg"] as? String } == ["one", "three", "four"])
        #expect(receiver.requests.count == 1, "one burst, then the cooldown")
        let body = try #require(receiver.requests.first).body
        let notification = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(notification["rule"] as? String == "error-burst")
        #expect((notification["group"] as? [String: String])?["service"] == "checkout")
        #expect(notification["count"] as? Int == 3)
        #expect((notification["samples"] as? [[String: Any]])?.count == 3)
        let log = sluice.standardError
        #expect(log.contains("alert firing: error-burst"), "the console notifier")
        #expect(!log.contains("s3cret-token"), "the webhook URL is a secret")
    }

    @Test func validateRedactsTheWebhookAndRejectsBadRules() throws {
        let valid = try SluiceBinary.launch(["validate", "--config", config], environment: ["ALERT_WEBHOOK_URL": "https://hooks.example/T0K3N"], stdin: .null)
        #expect(valid.wait().exitStatus == 0)
        #expect(valid.standardOutput.contains("url: <redacted>"))
        #expect(!valid.standardOutput.contains("T0K3N"))
        let broken = directory.write("broken.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              out: { type: console, where: 'level >= errr' }
              alerts:
                type: alert
                rules:
                  - { name: r, when: 'msg =~ /(/', notify: [pager] }
                notifiers:
                  pagr: { type: webhook, url: "${NOT_SET}" }
            """)
        let invalid = try SluiceBinary.launch(["validate", "--config", broken], stdin: .null)
        #expect(invalid.wait().exitStatus == 78)
        let problems = invalid.standardError
        #expect(problems.contains("sinks.out.where: errr is not a value"))
        #expect(!problems.contains("is required for a webhook"), "one problem per cause")
        #expect(problems.contains("sinks.alerts.rules.0.when:") && problems.contains("at column 8"))
        #expect(problems.contains("sinks.alerts.rules.0.notify: no notifier is named \"pager\"; did you mean \"pagr\"?"))
        #expect(problems.contains("sinks.alerts.notifiers.pagr.url:") && problems.contains("NOT_SET"))
    }
}
