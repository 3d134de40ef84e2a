/// Finds a level word in the first few words of a plain line, as in
/// `2024-06-01T00:00:00Z ERROR [api] ...` or `[warn] disk almost full`.
///
/// Only the first three words are looked at, and a word only counts when it is a level name
/// on its own (brackets, parentheses and a trailing colon are allowed around it), so ordinary
/// prose that mentions "error" later in the line is not mistaken for a level.
enum PlainLevelSniffer {
    static let wordsExamined = 3

    static func level(in line: UnsafeRawBufferPointer) -> EventLevel {
        var index = 0
        var words = 0
        let count = min(line.count, 96)
        while index < count && words < wordsExamined {
            while index < count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
            let wordStart = index
            while index < count, line[index] != 0x20, line[index] != 0x09 { index += 1 }
            guard index > wordStart else { break }
            words += 1
            var first = wordStart
            var last = index
            while first < last, isDecoration(line[first]) { first += 1 }
            while last > first, isDecoration(line[last - 1]) { last -= 1 }
            guard last - first >= 3, last - first <= 8 else { continue }
            let level = EventLevel.parse(UnsafeRawBufferPointer(rebasing: line[first..<last]))
            if level != .unknown && isUpperOrLowerOnly(line, first, last) { return level }
        }
        return .unknown
    }

    private static func isDecoration(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: ":"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            true
        default:
            false
        }
    }

    /// `ERROR`, `error` or `Error`; mixed shapes like `eRRor` are not level markers.
    private static func isUpperOrLowerOnly(_ line: UnsafeRawBufferPointer, _ first: Int, _ last: Int) -> Bool {
        var upper = 0
        for index in first..<last where line[index] >= UInt8(ascii: "A") && line[index] <= UInt8(ascii: "Z") {
            upper += 1
        }
        let length = last - first
        let capitalised = upper == 1 && line[first] >= UInt8(ascii: "A") && line[first] <= UInt8(ascii: "Z")
        return upper == 0 || upper == length || capitalised
    }
}
