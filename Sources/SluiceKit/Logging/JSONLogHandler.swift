import Logging
import SluiceConfig
import SluiceCore
import SluiceSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sluice's own log: one JSON object per line on stderr, never on stdout (which may carry the
/// routed events). Known secrets are replaced with `<redacted>` wherever they appear.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    private let label: String
    private let descriptor: Int32

    /// Secret values (from the configuration) that must never reach the log. A set: every
    /// reload hands the configuration's secrets over again. Secrets a reload no longer uses stay
    /// redacted (a sink it replaced may still be logging with them).
    static let secrets = Locked<Set<String>>([])

    init(label: String, level: Logger.Level, descriptor: Int32 = 2) {
        self.label = label
        self.logLevel = level
        self.descriptor = descriptor
    }

    static func redact(_ values: some Sequence<String>) {
        let added = values.filter { $0.count >= 4 }
        secrets.withLock { $0.formUnion(added) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = ByteWriter(capacity: 256)
        line.append("{\"@timestamp\":\"")
        line.append(EventTimestamp.format(EventTimestamp.nowMilliseconds()))
        line.append("\",\"level\":\"")
        line.append(Self.name(of: event.level))
        line.append("\",\"logger\":")
        line.appendJSONString(label)
        line.append(",\"message\":")
        line.appendJSONString(Self.redacted("\(event.message)"))
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["@timestamp", "level", "logger", "message"].contains(key) {
            line.append(UInt8(ascii: ","))
            line.appendJSONString(key)
            line.append(UInt8(ascii: ":"))
            Self.append(value, to: &line)
        }
        line.append("}\n")
        Self.outputs.withLock { outputs in
            guard outputs[descriptor, default: Output()].isOpen(forThread: pthread_self()) else { return }
            try? OutputDescriptor.writeAll(line.bytes, to: descriptor, name: "stderr")
        }
    }

    /// Who may still write: lines are written one at a time (never interleaved), and after a
    /// run's last line (its summary) no other thread's line follows it.
    private struct Output {
        var finalWriter: pthread_t?
        var ended = false

        func isOpen(forThread thread: pthread_t) -> Bool {
            guard !ended else { return false }
            guard let finalWriter else { return true }
            return pthread_equal(finalWriter, thread) != 0
        }
    }

    /// By descriptor (stderr; tests log elsewhere).
    private static let outputs = Locked<[Int32: Output]>([:])

    /// Writes `body`'s lines as the run's last on `descriptor`: from now on only this thread's
    /// lines are written there, and none after `body` (threads a stop left behind may still be
    /// logging).
    static func writeLastLines(descriptor: Int32 = 2, _ body: () -> Void) {
        outputs.withLock { $0[descriptor, default: Output()].finalWriter = pthread_self() }
        body()
        outputs.withLock { $0[descriptor, default: Output()].ended = true }
    }

    /// Opens the log again for a new run in the same process (the library's `Sluice.run`).
    static func reopen(descriptor: Int32 = 2) {
        outputs.withLock { $0[descriptor] = Output() }
    }

    private static func append(_ value: Logger.Metadata.Value, to line: inout ByteWriter) {
        switch value {
        case .string(let text):
            // Integers are written as JSON numbers, unless they are (or hold) a secret.
            let safe = redacted(text)
            if safe == text, let number = Int(text), "\(number)" == text {
                line.append(text)
            } else {
                line.appendJSONString(safe)
            }
        case .stringConvertible(let convertible):
            line.appendJSONString(redacted(convertible.description))
        case .array(let values):
            line.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                append(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            line.append(UInt8(ascii: "{"))
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                line.appendJSONString(key)
                line.append(UInt8(ascii: ":"))
                append(element, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
    }

    static func redacted(_ text: String) -> String {
        let secrets = Self.secrets.withLock { $0 }
        return secrets.isEmpty ? text : ConfigContext.redact(secrets, in: text)
    }

    private static func name(of level: Logger.Level) -> String {
        switch level {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warn"
        case .error: "error"
        case .critical: "fatal"
        }
    }

    /// Installs the handler for the whole process, at the level named by `SLUICE_LOG_LEVEL`
    /// (trace, debug, info, notice, warning, error, critical; default info).
    /// Installs this handler for the process, once (a library user may run several commands).
    static func bootstrap(environment: [String: String]) {
        guard bootstrapped.withLock({ done in defer { done = true }; return !done }) else { return }
        let level = environment["SLUICE_LOG_LEVEL"].flatMap(parseLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }

    private static let bootstrapped = Locked(false)

    static func parseLevel(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "warn": .warning
        case "fatal": .critical
        default: Logger.Level(rawValue: text.lowercased())
        }
    }
}
