import AsyncHTTPClient
import NIOHTTP1
import Logging
import NIOCore
import SluiceCore

/// Somewhere an alert notification goes. `send` blocks its (dispatcher's) thread until the
/// notification is delivered or fails.
public protocol AlertNotifier: Sendable {
    var name: String { get }
    func send(_ notification: AlertNotification) throws
}

/// Writes notifications into Sluice's own log (JSON on stderr): for development.
public struct ConsoleNotifier: AlertNotifier {
    public let name: String
    private let logger = Logger(label: "sluice.alert")

    public init(name: String) {
        self.name = name
    }

    public func send(_ notification: AlertNotification) throws {
        var metadata: Logger.Metadata = [
            "notifier": "\(name)", "rule": "\(notification.rule)", "status": "\(notification.status.rawValue)",
            "group": "\(notification.groupDescription)", "count": "\(notification.count)", "suppressed": "\(notification.suppressed)",
        ]
        if let last = notification.samples.last { metadata["last_event"] = "\(last)" }
        logger.notice("alert \(notification.status.rawValue): \(notification.rule)", metadata: metadata)
    }
}

/// POSTs notifications to a URL: `json` (the whole notification, with sample events) or
/// `slack` (`{"text": ...}` from a template).
public struct WebhookNotifier: AlertNotifier {
    public enum Format: String, Sendable, CaseIterable {
        case json, slack
    }

    public let name: String
    public let url: String
    public let format: Format
    public let template: String
    public let headers: [(String, String)]
    public let timeoutNanoseconds: UInt64
    public let sinkName: String
    public let host: String

    public static let defaultTemplate = "[{status}] {rule}: {count} matching events in {window} ({group})"

    public init(
        name: String, url: String, format: Format = .json, template: String = WebhookNotifier.defaultTemplate,
        headers: [(String, String)] = [], timeoutNanoseconds: UInt64 = 5_000_000_000, sinkName: String, host: String
    ) {
        self.name = name
        self.url = url
        self.format = format
        self.template = template
        self.headers = headers
        self.timeoutNanoseconds = timeoutNanoseconds
        self.sinkName = sinkName
        self.host = host
    }

    public func send(_ notification: AlertNotification) throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "sluice")
        for (header, value) in self.headers { headers.add(name: header, value: value) }
        let body = format == .json
            ? AlertPayload.json(notification, sink: sinkName, host: host)
            : AlertPayload.slack(notification, template: template)
        let request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .bytes(body))
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeoutNanoseconds))
        let response = try HTTPClient.shared.execute(request: request, deadline: deadline).wait()
        let status = response.status.code
        guard (200..<300).contains(status) else {
            // The URL may carry a token: name the notifier, not the URL.
            throw NotifierError(message: "webhook \"\(name)\" answered HTTP \(status)")
        }
    }
}

public struct NotifierError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
