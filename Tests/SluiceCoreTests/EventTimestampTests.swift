import Testing
import SluiceTesting

@testable import SluiceCore

private func parse(_ text: String) -> Int64? {
    Array(text.utf8).withUnsafeBytes { EventTimestamp.parse($0) }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct EventTimestampTests {
    @Test func formatsRFC3339WithMilliseconds() {
        #expect(EventTimestamp.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(EventTimestamp.format(1_717_200_000_123) == "2024-06-01T00:00:00.123Z")
        #expect(EventTimestamp.format(951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(EventTimestamp.format(-1) == "1969-12-31T23:59:59.999Z")
    }

    @Test func parsesRFC3339InItsCommonShapes() {
        let expected: Int64 = 1_717_200_000_123
        #expect(parse("2024-06-01T00:00:00.123Z") == expected)
        #expect(parse("2024-06-01T00:00:00.123456789Z") == expected)
        #expect(parse("2024-06-01 00:00:00.123Z") == expected)
        #expect(parse("2024-06-01T02:00:00.123+02:00") == expected)
        #expect(parse("2024-05-31T19:30:00.123-04:30") == expected)
        #expect(parse("2024-06-01T00:00:00Z") == expected - 123)
        #expect(parse("2024-06-01T00:00:00") == expected - 123)
    }

    @Test func parsesEpochNumbersByMagnitude() {
        #expect(parse("1717200000") == 1_717_200_000_000)
        #expect(parse("1717200000.5") == 1_717_200_000_500)
        #expect(parse("1717200000123") == 1_717_200_000_123)
        #expect(parse("1717200000123456") == 1_717_200_000_123)
        #expect(parse("1717200000123456789") == 1_717_200_000_123)
    }

    @Test(arguments: ["", "yesterday", "2024-13-01T00:00:00Z", "2024-06-01T25:00:00Z", "2024-06-01T00:00:00+0200", "12abc", "2024-06-01T00:00:00.Z"])
    func rejectsWhatIsNotATime(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func roundTripsThroughFormatAndParse() {
        for milliseconds: Int64 in [0, 1, 86_399_999, 1_717_200_000_123, 4_102_444_800_000] {
            #expect(parse(EventTimestamp.format(milliseconds)) == milliseconds)
        }
    }
}
