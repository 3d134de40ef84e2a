public import SluiceComponentConfig
public import SluiceConfig
public import SluiceCore

/// `type: alert`.
///
/// ```yaml
/// rules:
///   - name: error-burst            # required, unique
///     when: 'level >= error'       # required: the expression language of `where`
///     threshold: 5                 # matches needed (default 1)
///     window: 1m                   # within this long (default 0s: every match)
///     group_by: [service]          # one window per distinct value (default: one group)
///     cooldown: 5m                 # quiet period per group after a notification (default 0s)
///     resolve_after: 10m           # send `resolved` when a fired group stays quiet (default: never)
///     max_groups: 10000            # groups tracked; more are counted as overflow
///     samples: 5                   # matching events carried in a notification
///     notify: [oncall]             # notifier names
/// notifiers:
///   oncall: { type: webhook, url: "${ALERT_WEBHOOK_URL}", format: json, timeout: 5s, retries: 3,
///             rate_limit_per_minute: 60, headers: { Authorization: "Bearer ${TOKEN}" } }
///   slack:  { type: webhook, url: "${SLACK_WEBHOOK_URL}", format: slack,
///             template: "[{status}] {rule}: {count} in {window} ({group}) {msg}" }
///   dev:    { type: console }
/// ```
public struct AlertSettings {
    public var rules: [AlertRule]
    public var notifiers: [(name: String, notifier: any AlertNotifier, settings: NotificationDispatcher.Settings)]

    public init(reading reader: ConfigReader, sinkName: String, host: String, parse: (ConfigReader, String) -> Expression?) {
        notifiers = []
        let notifierSections = reader.namedSections("notifiers")
        for (name, section) in notifierSections {
            defer { section.rejectUnknownKeys() }
            let type = section.choice("type", default: NotifierType.console)
            var settings = NotificationDispatcher.Settings(
                retries: section.int("retries", default: 3, range: 0...100),
                ratePerMinute: section.int("rate_limit_per_minute", default: 60, range: 0...1_000_000)
            )
            settings.initialBackoffNanoseconds = section.duration("retry_backoff", default: 500_000_000, minimum: 1_000_000)
            switch type {
            case .console:
                notifiers.append((name, ConsoleNotifier(name: name), settings))
            case .webhook:
                let url = section.secret("url") ?? ""
                if url.isEmpty, !section.contains("url") {
                    section.reportInvalid("url", "is required for a webhook notifier (keep it in the environment: url: \"${ALERT_WEBHOOK_URL}\")")
                } else if !url.isEmpty, !url.hasPrefix("http://") && !url.hasPrefix("https://") {
                    section.reportInvalid("url", "must start with http:// or https://")
                }
                let headers = section.section("headers")
                var headerValues: [(String, String)] = []
                for key in headers.presentKeys { headerValues.append((key, headers.secret(key) ?? "")) }
                notifiers.append((name, WebhookNotifier(
                    name: name, url: url, format: section.choice("format", default: WebhookNotifier.Format.json),
                    template: section.string("template", default: WebhookNotifier.defaultTemplate), headers: headerValues,
                    timeoutNanoseconds: section.duration("timeout", default: 5_000_000_000, minimum: 1_000_000),
                    sinkName: sinkName, host: host
                ), settings))
            }
        }
        let notifierNames = notifierSections.map(\.name)
        rules = []
        guard let ruleItems = reader.list(ofMapsAt: "rules"), !ruleItems.isEmpty else {
            reader.reportInvalid("rules", "an alert sink needs at least one rule")
            return
        }
        for rule in ruleItems {
            defer { rule.rejectUnknownKeys() }
            let name = rule.requiredString("name", hint: "a name for the rule, such as error-burst")
            if rules.contains(where: { $0.name == name }) { rule.reportInvalid("name", "another rule is named \"\(name)\"") }
            let condition = parse(rule, "when")
            if condition == nil, !rule.contains("when") { rule.reportInvalid("when", "is required: the condition, such as 'level >= error'") }
            let notify = rule.stringList("notify") ?? []
            for target in notify where !notifierNames.contains(target) {
                var message = "no notifier is named \"\(target)\""
                if let suggestion = NearestKey.suggestion(for: target, among: notifierNames) { message += "; did you mean \"\(suggestion)\"?" }
                rule.reportInvalid("notify", message)
            }
            let resolveAfter = rule.duration("resolve_after", default: 0)
            rules.append(AlertRule(
                name: name, condition: condition ?? .exists(FieldPath(["@timestamp"])),
                threshold: rule.int("threshold", default: 1, range: 1...1_000_000),
                windowNanoseconds: rule.duration("window", default: 0),
                groupBy: (rule.stringList("group_by") ?? []).map { FieldPath($0.split(separator: ".").map(String.init)) },
                cooldownNanoseconds: rule.duration("cooldown", default: 0),
                resolveAfterNanoseconds: resolveAfter > 0 ? resolveAfter : nil,
                notify: notify,
                maxGroups: rule.int("max_groups", default: 10_000, range: 1...10_000_000),
                samples: rule.int("samples", default: 5, range: 0...100)
            ))
        }
    }

    enum NotifierType: String, CaseIterable {
        case console, webhook
    }
}

extension AlertSink {
    /// Each alert sink's state, by sink name, from one version to the next across reloads.
    private static let handOvers = SinkStateHandOvers<AlertEngine>()

    /// `type: alert`; `sluice test` learns which rules a batch fires without starting notifiers.
    public static let registration = SinkRegistration(type: "alert") { name, reader, context in
        let settings = AlertSettings(reading: reader, sinkName: name, host: context.host) { $0.expression($1) }
        let rules = settings.rules
        let firingRules = { (batch: EventBatch) in
            AlertEngine(rules: rules).process(batch, now: 1_000_000_000).filter { $0.status == .firing }.map(\.rule)
        }
        return SinkBlueprint(firingRules: firingRules) {
            let dispatchers = Dictionary(uniqueKeysWithValues: settings.notifiers.map {
                ($0.name, NotificationDispatcher(notifier: $0.notifier, settings: $0.settings))
            })
            return .delivering(AlertSink(name: name, rules: rules, dispatchers: dispatchers, handOver: handOvers.handOver(for: name)))
        }
    }
}
