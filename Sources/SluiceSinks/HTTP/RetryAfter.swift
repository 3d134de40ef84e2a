import Foundation

/// Reads an HTTP `Retry-After` value: a number of seconds, or an HTTP date (RFC 9110, the
/// IMF-fixdate form `Sun, 06 Nov 1994 08:49:37 GMT`). Nil for anything else.
enum RetryAfter {
    static func nanoseconds(from value: String, now: Date) -> UInt64? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = UInt64(trimmed) { return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue }
        // A formatter per date: they are rare, and a formatter is not safe to share across threads.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        let interval = date.timeIntervalSince(now)
        return interval > 0 ? UInt64(interval * 1_000_000_000) : 0
    }
}
