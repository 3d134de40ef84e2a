import Testing
import SluiceTesting

@testable import SluiceCore

private func scan(_ text: String) -> [String]? {
    var scanner = JSONObjectScanner()
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw -> [String]? in
        guard scanner.scan(raw) else { return nil }
        return scanner.fields.map { String(decoding: raw[Int($0.keyStart)..<Int($0.keyEnd)], as: UTF8.self) }
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct JSONObjectScannerTests {
    @Test(arguments: [
        "{}", " { } ", #"{"a":1}"#, #"{"a":-0.5e+10,"b":[1,2,{"c":null}],"d":{"e":[]},"f":true,"g":false}"#,
        #"{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}"#, #"{"a" : "x" , "b" :[ ]}"#,
        #"{"ünïcode":"日本"}"#, #"{"big":123456789012345678901234567890}"#,
    ])
    func acceptsValidObjects(_ text: String) {
        #expect(scan(text) != nil)
    }

    @Test(arguments: [
        "", "{", "}", "[]", #""str""#, "42", #"{"a":1,}"#, #"{"a":1"#, #"{"a" 1}"#, #"{a:1}"#,
        #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#, #"{"a":+1}"#, #"{"a":tru}"#,
        #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"tab\there\"}", #"{"a":1} trailing"#,
        #"{"a":[1,2}"#, #"{"a":{"b":1]}"#, #"{"a":1}{"b":2}"#, #"{"a":NaN}"#,
    ])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(scan(text) == nil)
    }

    @Test func listsTopLevelFieldsOnly() {
        #expect(scan(#"{"a":{"inner":1},"b":[{"x":2}],"c":"v"}"#) == ["a", "b", "c"])
    }

    @Test func recordsValueKindsAndRanges() {
        var scanner = JSONObjectScanner()
        let text = Array(#"{"n":12.5,"s":"x","o":{},"l":[],"t":true,"z":null}"#.utf8)
        let ok = text.withUnsafeBytes { scanner.scan($0) }
        #expect(ok)
        #expect(scanner.fields.map(\.kind) == [.number, .string, .object, .array, .boolean, .null])
        let first = scanner.fields[0]
        #expect(String(decoding: text[Int(first.valueStart)..<Int(first.valueEnd)], as: UTF8.self) == "12.5")
    }

    @Test func rejectsNestingBeyondTheLimitWithoutRecursing() {
        let deep = #"{"a":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        #expect(scan(deep) == nil)
        let fine = #"{"a":"# + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}"
        #expect(scan(fine) == ["a"])
    }

    /// Strings whose quotes fall on either side of the 64-byte blocks of the quote index, and
    /// control bytes inside and outside strings at those edges.
    @Test func stringsAcrossTheQuoteIndexBlocksAreSkippedAndCheckedWhole() {
        for padding in 50..<80 {
            let body = String(repeating: "x", count: padding)
            let long = String(repeating: "é", count: 70)
            #expect(scan(#"{"a":""# + body + #"","b":""# + long + #"","c":1}"#) == ["a", "b", "c"], "padding \(padding)")
            // A raw control byte inside a string is not JSON, wherever it falls.
            #expect(scan(#"{"a":""# + body + "\u{01}" + #"","b":2}"#) == nil, "padding \(padding)")
            #expect(scan(#"{"a":""# + body + "\t" + #""}"#) == nil, "padding \(padding)")
            // Outside strings, a tab or newline is whitespace.
            #expect(scan(#"{"a":""# + body + "\"\t,\n\"b\":2}") == ["a", "b"], "padding \(padding)")
            // An unterminated string at the end of the line.
            #expect(scan(#"{"a":""# + body) == nil, "padding \(padding)")
            // A line with a backslash is scanned byte by byte, escapes checked.
            #expect(scan(#"{"a":""# + body + #"\"","b":2}"#) == ["a", "b"], "padding \(padding)")
            #expect(scan(#"{"a":""# + body + #"\q"}"#) == nil, "padding \(padding)")
        }
        let beyondTheIndex = #"{"a":""# + String(repeating: "y", count: JSONQuoteIndex.maxBytes) + #"","b":true}"#
        #expect(scan(beyondTheIndex) == ["a", "b"])
    }

    @Test func looksUpNestedValuesInValidJSON() {
        let text = Array(#"{"ctx":{"user":{"id":42},"region":"eu"},"x":[1,{"ctx":0}]}"#.utf8)
        let range = text.withUnsafeBytes { JSONLookup.value(atPath: [Array("ctx".utf8), Array("user".utf8), Array("id".utf8)], inObject: $0) }
        #expect(range.map { String(decoding: text[$0], as: UTF8.self) } == "42")
        let missing = text.withUnsafeBytes { JSONLookup.value(atPath: [Array("nope".utf8)], inObject: $0) }
        #expect(missing == nil)
    }
}
