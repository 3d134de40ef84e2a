#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `@timestamp` values: milliseconds since the Unix epoch, written as RFC 3339 UTC with
/// milliseconds (`2024-06-01T00:00:00.000Z`, always 24 bytes).
public enum EventTimestamp {
    public static let textLength = 24

    /// The wall clock now, in milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Writes the 24-byte RFC 3339 form of `milliseconds` at `destination`.
    public static func format(_ milliseconds: Int64, into destination: UnsafeMutableRawPointer) {
        let (days, msOfDay) = milliseconds.floorDivided(by: 86_400_000)
        let (year, month, day) = civilDate(fromDays: days)
        let seconds = Int(msOfDay / 1000)
        let millis = Int(msOfDay % 1000)
        let out = destination.assumingMemoryBound(to: UInt8.self)
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                out[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0)
        out[4] = UInt8(ascii: "-")
        put(month, 2, at: 5)
        out[7] = UInt8(ascii: "-")
        put(day, 2, at: 8)
        out[10] = UInt8(ascii: "T")
        put(seconds / 3600, 2, at: 11)
        out[13] = UInt8(ascii: ":")
        put(seconds / 60 % 60, 2, at: 14)
        out[16] = UInt8(ascii: ":")
        put(seconds % 60, 2, at: 17)
        out[19] = UInt8(ascii: ".")
        put(millis, 3, at: 20)
        out[23] = UInt8(ascii: "Z")
    }

    public static func format(_ milliseconds: Int64) -> String {
        String(unsafeUninitializedCapacity: textLength) { buffer in
            format(milliseconds, into: UnsafeMutableRawPointer(buffer.baseAddress!))
            return textLength
        }
    }

    /// Parses an RFC 3339 / ISO 8601 date-time (`T` or a space between date and time, any number
    /// of fraction digits, `Z` or a `±HH:MM` offset; a time without an offset is taken as UTC),
    /// or a decimal epoch number (see `parseEpoch`).
    public static func parse(_ raw: UnsafeRawBufferPointer) -> Int64? {
        guard let first = raw.first else { return nil }
        if raw.count >= 19, raw[4] == UInt8(ascii: "-") {
            return parseDateTime(raw)
        }
        if first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            return parseEpoch(raw)
        }
        return nil
    }

    /// An epoch number in seconds, milliseconds, microseconds or nanoseconds, told apart by
    /// magnitude (below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else
    /// nanoseconds); seconds may carry a fraction.
    public static func parseEpoch(_ raw: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let count = raw.count
        var whole: Int64 = 0
        var digits = 0
        while index < count, raw[index] >= UInt8(ascii: "0"), raw[index] <= UInt8(ascii: "9") {
            guard digits < 19 else { return nil }
            whole = whole * 10 + Int64(raw[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        var fractionMillis: Int64 = 0
        if index < count, raw[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            let fractionStart = index
            while index < count, raw[index] >= UInt8(ascii: "0"), raw[index] <= UInt8(ascii: "9") {
                fractionMillis += Int64(raw[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > fractionStart else { return nil }
        }
        // Exponent forms (1.7e9) are rare in logs; accept only plain decimals.
        guard index == count else { return nil }
        switch whole {
        case ..<100_000_000_000: return whole * 1000 + fractionMillis
        case ..<100_000_000_000_000: return whole
        case ..<100_000_000_000_000_000: return whole / 1000
        default: return whole / 1_000_000
        }
    }

    private static func parseDateTime(_ raw: UnsafeRawBufferPointer) -> Int64? {
        func digits(_ offset: Int, _ width: Int) -> Int? {
            var value = 0
            for index in offset..<(offset + width) {
                let byte = raw[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        let separator = raw[10] | 0x20
        guard raw[7] == UInt8(ascii: "-"), separator == UInt8(ascii: "t") || raw[10] == UInt8(ascii: " "),
              raw[13] == UInt8(ascii: ":"), raw[16] == UInt8(ascii: ":"),
              let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
              let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var millis = 0
        if index < raw.count, raw[index] == UInt8(ascii: ".") || raw[index] == UInt8(ascii: ",") {
            index += 1
            var scale = 100
            let fractionStart = index
            while index < raw.count, raw[index] >= UInt8(ascii: "0"), raw[index] <= UInt8(ascii: "9") {
                millis += Int(raw[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > fractionStart else { return nil }
        }
        var offsetMinutes = 0
        if index < raw.count {
            let marker = raw[index]
            if marker | 0x20 == UInt8(ascii: "z") {
                index += 1
            } else if marker == UInt8(ascii: "+") || marker == UInt8(ascii: "-") {
                guard index + 6 <= raw.count, raw[index + 3] == UInt8(ascii: ":"),
                      let hours = digits(index + 1, 2), let minutes = digits(index + 4, 2)
                else { return nil }
                offsetMinutes = (hours * 60 + minutes) * (marker == UInt8(ascii: "-") ? -1 : 1)
                index += 6
            }
        }
        guard index == raw.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secondsOfDay = hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return Int64(days) * 86_400_000 + Int64(secondsOfDay) * 1000 + Int64(millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilDate(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = Int(days) + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    public func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
