/// Durations (`250ms`, `5s`, `1m`, `1h`, `7d`) and sizes (`64KiB`, `10MiB`, `1GiB`, also `KB`,
/// `MB`, `GB` as powers of 1000 and plain byte counts).
public enum Units {
    /// Nanoseconds, or nil when the text is not a duration.
    public static func parseDuration(_ text: String) -> UInt64? {
        let trimmed = text.trimmingWhitespace
        let units: [(String, UInt64)] = [
            ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
            ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
        ]
        if trimmed == "0" { return 0 }
        for (suffix, scale) in units.sorted(by: { $0.0.count > $1.0.count }) where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            let nanoseconds = value * Double(scale)
            guard nanoseconds < Double(UInt64.max / 2) else { return nil }
            return UInt64(nanoseconds.rounded())
        }
        return nil
    }

    /// Bytes, or nil when the text is not a size.
    public static func parseSize(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingWhitespace
            guard let value = Double(number), value >= 0, value * Double(scale) < Double(Int.max / 2) else { return nil }
            return Int((value * Double(scale)).rounded())
        }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    public static func formatDuration(_ nanoseconds: UInt64) -> String {
        let units: [(String, UInt64)] = [
            ("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
            ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000),
        ]
        if nanoseconds == 0 { return "0s" }
        for (suffix, scale) in units where nanoseconds % scale == 0 {
            return "\(nanoseconds / scale)\(suffix)"
        }
        return "\(nanoseconds)ns"
    }

    public static func formatSize(_ bytes: Int) -> String {
        for (suffix, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(suffix)"
        }
        return "\(bytes)B"
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
