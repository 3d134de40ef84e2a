/// Typed getters: each validates, reports a problem naming the key and where the value came
/// from, and falls back to the default so reading can continue and find further problems.
extension ConfigReader {
    public func string(_ key: String, default defaultValue: String) -> String {
        let value = scalar(key)?.text ?? defaultValue
        record(key, EffectiveConfiguration.quoteIfNeeded(value))
        return value
    }

    public func optionalString(_ key: String) -> String? {
        let value = scalar(key)?.text
        if let value { record(key, EffectiveConfiguration.quoteIfNeeded(value)) }
        return value
    }

    /// A secret (password, API key, token, webhook URL): never printed, never in messages.
    public func secret(_ key: String) -> String? {
        let value = scalar(key)?.text
        if let value, !value.isEmpty {
            context.addSecret(value)
            // Printed redacted; compared (a reload sees a rotated key as a change) by a hash
            // that is only meaningful inside this process.
            context.effective.record(path + [key], EffectiveConfiguration.redacted, comparable: "<secret \(value.hashValue)>")
        }
        return value
    }

    /// A required string: reports the key when it is missing or empty.
    public func requiredString(_ key: String, hint: String) -> String {
        guard let value = optionalString(key), !value.isEmpty else {
            report(key, "is required: \(hint)", origin: node?.origin)
            return ""
        }
        return value
    }

    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int {
        guard let (text, origin) = scalar(key) else {
            record(key, "\(defaultValue)")
            return defaultValue
        }
        guard let value = Int(text.trimmingWhitespace) else {
            report(key, "expected a whole number, found \"\(text)\"", origin: origin)
            return defaultValue
        }
        guard range.contains(value) else {
            report(key, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)", origin: origin)
            return defaultValue
        }
        record(key, "\(value)")
        return value
    }

    public func bool(_ key: String, default defaultValue: Bool) -> Bool {
        guard let (text, origin) = scalar(key) else {
            record(key, "\(defaultValue)")
            return defaultValue
        }
        switch text.trimmingWhitespace.lowercased() {
        case "true", "yes", "on", "1":
            record(key, "true")
            return true
        case "false", "no", "off", "0":
            record(key, "false")
            return false
        default:
            report(key, "expected true or false, found \"\(text)\"", origin: origin)
            return defaultValue
        }
    }

    /// A duration in nanoseconds (`250ms`, `5s`, `1m`, `1h`, `7d`).
    public func duration(_ key: String, default defaultValue: UInt64, minimum: UInt64 = 0) -> UInt64 {
        guard let (text, origin) = scalar(key) else {
            record(key, Units.formatDuration(defaultValue))
            return defaultValue
        }
        guard let value = Units.parseDuration(text) else {
            report(key, "expected a duration such as 250ms, 5s, 1m or 1h, found \"\(text)\"", origin: origin)
            return defaultValue
        }
        guard value >= minimum else {
            report(key, "must be at least \(Units.formatDuration(minimum)), found \"\(text)\"", origin: origin)
            return defaultValue
        }
        record(key, Units.formatDuration(value))
        return value
    }

    /// A size in bytes (`64KiB`, `10MiB`, `1GiB`, or a byte count).
    public func size(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int {
        guard let (text, origin) = scalar(key) else {
            record(key, Units.formatSize(defaultValue))
            return defaultValue
        }
        guard let value = Units.parseSize(text) else {
            report(key, "expected a size such as 64KiB, 10MiB or 1GiB, found \"\(text)\"", origin: origin)
            return defaultValue
        }
        guard range.contains(value) else {
            report(key, "\(Units.formatSize(value)) is out of range \(Units.formatSize(range.lowerBound))...\(Units.formatSize(range.upperBound))", origin: origin)
            return defaultValue
        }
        record(key, Units.formatSize(value))
        return value
    }

    /// One of a fixed set of words, with the nearest suggested for a misspelling.
    public func choice<Value: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: Value) -> Value
    where Value.RawValue == String {
        guard let (text, origin) = scalar(key) else {
            record(key, defaultValue.rawValue)
            return defaultValue
        }
        let trimmed = text.trimmingWhitespace
        guard let value = Value(rawValue: trimmed) else {
            let choices = Value.allCases.map(\.rawValue)
            var message = "\"\(text)\" is not one of \(choices.joined(separator: ", "))"
            if let suggestion = NearestKey.suggestion(for: trimmed, among: choices) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            report(key, message, origin: origin)
            return defaultValue
        }
        record(key, value.rawValue)
        return value
    }

    /// A file mode in octal (`"0640"`, `640`, `0o640`).
    public func fileMode(_ key: String, default defaultValue: UInt32) -> UInt32 {
        let text = string(key, default: "0" + String(defaultValue, radix: 8))
        var digits = Substring(text)
        if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
        guard let mode = UInt32(digits, radix: 8), mode <= 0o7777 else {
            reportInvalid(key, "expected an octal file mode such as \"0640\", found \"\(text)\"")
            return defaultValue
        }
        return mode
    }

    /// A list of strings; nil when absent.
    public func stringList(_ key: String) -> [String]? {
        guard let items = list(key) else { return nil }
        let values = items.map(\.text)
        record(key, "[" + values.map(EffectiveConfiguration.quoteIfNeeded).joined(separator: ", ") + "]")
        return values
    }

    /// A list of strings, `defaultValue` when absent (recorded, so `validate` prints it).
    public func stringList(_ key: String, default defaultValue: [String]) -> [String] {
        if let values = stringList(key) { return values }
        record(key, "[" + defaultValue.map(EffectiveConfiguration.quoteIfNeeded).joined(separator: ", ") + "]")
        return defaultValue
    }

    /// A map of strings (labels), in file order; each entry can be overridden from the
    /// environment like any scalar key.
    public func stringMap(_ key: String) -> [(key: String, value: String)] {
        let map = section(key)
        var result: [(key: String, value: String)] = []
        for name in map.presentKeys {
            if let value = map.optionalString(name) { result.append((name, value)) }
        }
        return result
    }

    /// Reports a problem with a key's value that only the caller can judge.
    public func reportInvalid(_ key: String, _ message: String) {
        report(key, message, origin: node?[key]?.origin)
    }
}
