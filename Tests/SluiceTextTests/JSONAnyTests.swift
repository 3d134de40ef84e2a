import Testing
import SluiceTesting
import SluiceText

@Suite(.timeLimit(.minutes(10)), .watchdog) struct JSONAnyTests {
    @Test func aDocumentReadsIntoTheTypesPromised() throws {
        let object = try #require(JSONAny.object(Array(#"{"a":1,"b":1.5,"c":"x\n\u00e9","d":[true,null],"e":{"f":-9007199254740993}}"#.utf8)))
        #expect(object["a"] as? Int == 1)
        #expect(object["b"] as? Double == 1.5)
        #expect(object["c"] as? String == "x\né")
        let list = try #require(object["d"] as? [Any])
        #expect(list[0] as? Bool == true)
        #expect(list[1] is JSONNull)
        #expect((object["e"] as? [String: Any])?["f"] as? Int == -9_007_199_254_740_993, "integers keep every digit")
    }

    @Test func whatIsNotJSONIsNil() {
        #expect(JSONAny.parse(Array("{\"a\":".utf8)) == nil)
        #expect(JSONAny.object(Array("[1]".utf8)) == nil)
    }

    @Test func serializingSortsKeysAndEscapes() {
        let bytes = JSONAny.serialize(["b": [1, 2.5, "q\"\\\u{1}"], "a": true, "c": ["z": JSONNull()]] as [String: Any])
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"a":true,"b":[1,2.5,"q\"\\\u0001"],"c":{"z":null}}"#)
        let again = JSONAny.object(bytes)
        #expect((again?["b"] as? [Any])?[2] as? String == "q\"\\\u{1}")
    }

    @Test func trimmingTakesBlanksFromBothEnds() {
        #expect(" \t a b \n".trimmed() == "a b")
        #expect("   ".trimmed() == "")
        #expect("'x'".trimmed { $0 == "'" } == "x")
    }
}
