import FoundationEssentials
import Glibc
import SluiceText

/// Reads an HTTP `Retry-After` value: a number of seconds, or an HTTP date (RFC 9110, the
/// IMF-fixdate form `Sun, 06 Nov 1994 08:49:37 GMT`). Nil for anything else.
enum RetryAfter {
    static func nanoseconds(from value: String, now: Date) -> UInt64? {
        let trimmed = value.trimmed()
        if let seconds = UInt64(trimmed) { return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue }
        guard let date = httpDate(trimmed) else { return nil }
        let interval = date.timeIntervalSince(now)
        return interval > 0 ? UInt64(interval * 1_000_000_000) : 0
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, the only form RFC 9110 lets a sender write.
    static func httpDate(_ text: Substring) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int32(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int32(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int32(clock[0]), let minute = Int32(clock[1]), let second = Int32(clock[2]),
              (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = Int32(month)
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        fields.tm_sec = second
        return Date(timeIntervalSince1970: Double(timegm(&fields)))
    }
}
