/// A syslog message's header fields, as ranges of the line.
struct SyslogMessage {
    var facility: Int
    var severity: Int
    var timestampMilliseconds: Int64?
    var hostname: Range<Int>?
    var appname: Range<Int>?
    var procid: Range<Int>?
    var msgid: Range<Int>?
    /// The structured data elements (`[id k="v"]...`), RFC 5424 only.
    var structuredData: Range<Int>?
    var message: Range<Int>
}

/// RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) and RFC 3164
/// (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, with or without the host, as local senders
/// like `logger` write it). An RFC 3164 time has no year or zone: it is taken as UTC in the
/// year that puts it closest before the read time.
enum SyslogParser {
    static func parse(_ line: UnsafeRawBufferPointer, readTimeMilliseconds: Int64) -> SyslogMessage? {
        guard line.count > 3, line[0] == UInt8(ascii: "<") else { return nil }
        var index = 1
        var priority = 0
        while index < line.count, index <= 4, line[index].isDigit {
            priority = priority * 10 + Int(line[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > 1, index < line.count, line[index] == UInt8(ascii: ">"), priority <= 191 else { return nil }
        index += 1
        var message = SyslogMessage(facility: priority / 8, severity: priority % 8, message: index..<line.count)
        if index + 1 < line.count, line[index] == UInt8(ascii: "1"), line[index + 1] == 0x20 {
            return parse5424(line, from: index + 2, into: &message)
        }
        return parse3164(line, from: index, into: &message, readTimeMilliseconds: readTimeMilliseconds)
    }

    private static func parse5424(_ line: UnsafeRawBufferPointer, from start: Int, into message: inout SyslogMessage) -> SyslogMessage? {
        var index = start
        func token() -> Range<Int>? {
            let tokenStart = index
            while index < line.count, line[index] != 0x20 { index += 1 }
            let range = tokenStart..<index
            if index < line.count { index += 1 }
            return range.count == 1 && line[range.lowerBound] == UInt8(ascii: "-") ? nil : range
        }
        guard index < line.count else { return nil }
        if let time = token() {
            guard let milliseconds = EventTimestamp.parse(UnsafeRawBufferPointer(rebasing: line[time])) else { return nil }
            message.timestampMilliseconds = milliseconds
        }
        message.hostname = token()
        message.appname = token()
        message.procid = token()
        message.msgid = token()
        if index < line.count, line[index] == UInt8(ascii: "[") {
            let dataStart = index
            while index < line.count, line[index] == UInt8(ascii: "[") {
                guard let close = closingBracket(line, from: index) else { return nil }
                index = close + 1
            }
            message.structuredData = dataStart..<index
            if index < line.count, line[index] == 0x20 { index += 1 }
        } else if index < line.count, line[index] == UInt8(ascii: "-") {
            index += 1
            if index < line.count, line[index] == 0x20 { index += 1 }
        }
        // A UTF-8 byte order mark may introduce the message.
        if index + 3 <= line.count, line[index] == 0xEF, line[index + 1] == 0xBB, line[index + 2] == 0xBF { index += 3 }
        message.message = index..<line.count
        return message
    }

    /// The `]` that closes the element opening at `start`, skipping escaped `\]` in values.
    private static func closingBracket(_ line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start + 1
        var inValue = false
        while index < line.count {
            switch line[index] {
            case UInt8(ascii: "\\") where inValue: index += 1
            case UInt8(ascii: "\""): inValue.toggle()
            case UInt8(ascii: "]") where !inValue: return index
            default: break
            }
            index += 1
        }
        return nil
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func parse3164(_ line: UnsafeRawBufferPointer, from start: Int, into message: inout SyslogMessage, readTimeMilliseconds: Int64) -> SyslogMessage? {
        var index = start
        if let milliseconds = bsdTimestamp(line, at: index, readTimeMilliseconds: readTimeMilliseconds) {
            message.timestampMilliseconds = milliseconds
            index += 15
        } else if index + 19 < line.count, line[index + 4] == UInt8(ascii: "-"),
                  let end = line[index...].firstIndex(of: 0x20),
                  let milliseconds = EventTimestamp.parse(UnsafeRawBufferPointer(rebasing: line[index..<end])) {
            message.timestampMilliseconds = milliseconds
            index = end
        }
        while index < line.count, line[index] == 0x20 { index += 1 }
        // HOST TAG: MSG, or (local senders) TAG: MSG.
        let firstEnd = line[index...].firstIndex(of: 0x20) ?? line.count
        let first = index..<firstEnd
        let firstIsTag = line[first].last == UInt8(ascii: ":") || line[first].contains(UInt8(ascii: "["))
        if !firstIsTag, firstEnd < line.count, let colon = line[firstEnd...].firstIndex(of: UInt8(ascii: ":")),
           !line[(firstEnd + 1)..<colon].contains(0x20) {
            message.hostname = first
            index = firstEnd + 1
        }
        guard let colon = line[index...].firstIndex(of: UInt8(ascii: ":")), !line[index..<colon].contains(0x20) else {
            message.message = index..<line.count
            return message
        }
        if let open = line[index..<colon].firstIndex(of: UInt8(ascii: "[")), line[colon - 1] == UInt8(ascii: "]") {
            message.appname = index..<open
            message.procid = (open + 1)..<(colon - 1)
        } else {
            message.appname = index..<colon
        }
        index = colon + 1
        if index < line.count, line[index] == 0x20 { index += 1 }
        message.message = index..<line.count
        return message
    }

    /// `Mmm dd hh:mm:ss` (day space-padded) at `index`.
    private static func bsdTimestamp(_ line: UnsafeRawBufferPointer, at index: Int, readTimeMilliseconds: Int64) -> Int64? {
        guard index + 15 <= line.count else { return nil }
        let name = String(decoding: line[index..<(index + 3)], as: UTF8.self)
        guard let month = months.firstIndex(of: name), line[index + 3] == 0x20, line[index + 6] == 0x20,
              line[index + 9] == UInt8(ascii: ":"), line[index + 12] == UInt8(ascii: ":") else { return nil }
        func number(_ offset: Int) -> Int? {
            let high = line[index + offset], low = line[index + offset + 1]
            guard low.isDigit, high.isDigit || high == 0x20 else { return nil }
            return (high == 0x20 ? 0 : Int(high - UInt8(ascii: "0")) * 10) + Int(low - UInt8(ascii: "0"))
        }
        guard let day = number(4), let hour = number(7), let minute = number(10), let second = number(13) else { return nil }
        let (year, _, _) = EventTimestamp.civilDate(fromDays: readTimeMilliseconds.floorDivided(by: 86_400_000).quotient)
        for candidate in [year, year - 1] {
            let days = EventTimestamp.daysFromCivil(year: candidate, month: month + 1, day: day)
            let milliseconds = (Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1000
            if milliseconds <= readTimeMilliseconds + 86_400_000 { return milliseconds }
        }
        return nil
    }

    static let facilityNames = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
        "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5",
        "local6", "local7",
    ]
    static let severityNames = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}
