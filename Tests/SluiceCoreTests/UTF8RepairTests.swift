import Testing
import SluiceTesting

@testable import SluiceCore

private func repair(_ bytes: [UInt8]) -> (text: [UInt8], replacements: Int) {
    var writer = ByteWriter()
    let count = bytes.withUnsafeBytes { UTF8Repair.repair($0, into: &writer) }
    return (Array(writer.bytes), count)
}

private func isValid(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { UTF8Repair.isValid($0) }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct UTF8RepairTests {
    let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    @Test func acceptsASCIIAndMultibyteText() {
        #expect(isValid(Array("plain ascii text that is long enough".utf8)))
        #expect(isValid(Array("naïve café 日本語 🎉 mixed with ascii".utf8)))
        #expect(isValid([]))
    }

    @Test(arguments: [
        [0xFF] as [UInt8],                // never valid
        [0xC0, 0xAF],                     // overlong '/'
        [0xED, 0xA0, 0x80],               // UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80],         // above U+10FFFF
        [0xE2, 0x82],                     // truncated at the end
        [0x80],                           // lone continuation
    ])
    func rejectsMalformedSequences(_ bytes: [UInt8]) {
        #expect(!isValid(Array("some ascii first ".utf8) + bytes))
    }

    @Test func replacesEachMaximalInvalidSubpartOnce() {
        // A truncated 3-byte sequence followed by ASCII: one replacement for the two bytes.
        let (text, count) = repair([0x61, 0xE2, 0x82, 0x62])
        #expect(text == [0x61] + replacement + [0x62])
        #expect(count == 1)
    }

    @Test func replacesEveryInvalidByteThatStartsNothing() {
        let (text, count) = repair([0xFF, 0xFE, 0x41])
        #expect(text == replacement + replacement + [0x41])
        #expect(count == 2)
    }

    @Test func keepsValidTextAroundTheDamage() {
        let (text, count) = repair(Array("é".utf8) + [0xC3] + Array("ok".utf8))
        #expect(text == Array("é".utf8) + replacement + Array("ok".utf8))
        #expect(count == 1)
        #expect(isValid(text))
    }
}
