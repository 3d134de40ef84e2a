import SluiceConfig
import SluiceCore

/// One case of a `sluice test` file.
///
/// ```yaml
/// tests:
///   - name: an error reaches the errors sink and fires the burst rule
///     source: app                       # optional when there is one source
///     lines:                            # input, one line each (multiline rules apply)
///       - '{"level":"error","msg":"db down"}'
///       - 'plain text'
///     events:                           # expected events in order: field values (dotted paths)
///       - { level: error, msg: db down, source: app }
///       - { message: plain text }
///     sinks:                            # per sink, the events (by position) that reach it
///       errors: [0]                     # after its inputs and its where filter
///       console: [0, 1]
///     alerts: [error-burst]             # alert rules that fire, each time they fire
///   - name: the scrub transform hides the card and drops debug lines
///     transform: scrub                  # `events` are then what comes out of this transform
///     lines: ['{"msg":"card 4111 1111 1111 1111"}', '{"level":"debug","msg":"x"}']
///     events:
///       - { msg: "card [REDACTED]" }
///       - { dropped: scrub.7 }          # removed by step 7 (1-based) of transform scrub
/// ```
struct ConfigurationTest: Sendable {
    var name: String
    var source: String?
    /// The transform whose output `events` describe; nil for the source's events.
    var transform: String?
    var lines: [String]
    var events: [[(path: String, value: String)]]?
    var sinks: [(name: String, events: [Int])]?
    var alerts: [String]?

    /// Reads the cases; problems go to the reader's context, with file and line.
    static func cases(reading reader: ConfigReader) -> [ConfigurationTest] {
        defer { reader.rejectUnknownKeys() }
        guard let items = reader.list(ofMapsAt: "tests"), !items.isEmpty else {
            reader.reportInvalid("tests", "a test file needs a list of tests")
            return []
        }
        return items.map { item in
            defer { item.rejectUnknownKeys() }
            var test = ConfigurationTest(name: item.requiredString("name", hint: "what the case checks"), lines: item.stringList("lines") ?? [])
            test.source = item.optionalString("source")
            test.transform = item.optionalString("transform")
            if test.lines.isEmpty { item.reportInvalid("lines", "is required: the input lines") }
            if let expected = item.list(ofMapsAt: "events") {
                test.events = expected.map { event in event.presentKeys.compactMap { key in event.optionalString(key).map { (key, $0) } } }
            }
            if item.contains("sinks") {
                let sinks = item.section("sinks")
                test.sinks = sinks.presentKeys.map { name in
                    (name, (sinks.stringList(name) ?? []).compactMap { Int($0) })
                }
            }
            test.alerts = item.stringList("alerts")
            return test
        }
    }
}
