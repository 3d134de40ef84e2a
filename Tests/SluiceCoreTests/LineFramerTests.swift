import Testing
import SluiceTesting

@testable import SluiceCore

/// Feeds chunks to a framer and returns what it framed, as strings with part markers.
/// With `lending`, the framer starts with a tiny buffer and borrows a large one for each chunk,
/// as every connection of a socket source does.
private func frame(_ chunks: [String], maxLineBytes: Int = 1024, readSize: Int = 64, lending: Bool = false) -> [String] {
    var framer = LineFramer(maxLineBytes: maxLineBytes, readSize: readSize, initialCapacity: lending ? 4 : nil)
    var lent = ReadBuffer(capacity: readSize * 2)
    var lines: [String] = []
    func take(_ line: FramedLine) {
        let text = String(decoding: line.bytes, as: UTF8.self)
        lines.append(line.part == 0 ? text : "\(text)#\(line.part)\(line.isLastPart ? "$" : "")")
    }
    for chunk in chunks {
        if lending { framer.exchangeBuffer(with: &lent) }
        Array(chunk.utf8).withUnsafeBytes { framer.append($0) }
        while let line = framer.nextLine() { take(line) }
        if lending { framer.exchangeBuffer(with: &lent) }
    }
    while let line = framer.finish() { take(line) }
    return lines
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct LineFramerTests {
    @Test func splitsLinesAcrossReads() {
        #expect(frame(["one\ntw", "o\nthr", "ee\n"]) == ["one", "two", "three"])
    }

    @Test func dropsTheCarriageReturnOfCRLF() {
        #expect(frame(["a\r\nb\r\n"]) == ["a", "b"])
    }

    @Test func keepsALastLineWithoutNewline() {
        #expect(frame(["a\nlast"]) == ["a", "last"])
    }

    @Test func keepsEmptyLines() {
        #expect(frame(["\n\nx\n"]) == ["", "", "x"])
    }

    @Test func aLineOfExactlyTheLimitIsWhole() {
        #expect(frame([String(repeating: "x", count: 16) + "\n"], maxLineBytes: 16) == [String(repeating: "x", count: 16)])
    }

    @Test func cutsAnOverLongLineIntoMarkedParts() {
        let line = String(repeating: "a", count: 16) + String(repeating: "b", count: 16) + "cc"
        #expect(frame([line + "\nnext\n"], maxLineBytes: 16) == [
            String(repeating: "a", count: 16) + "#1",
            String(repeating: "b", count: 16) + "#2",
            "cc#3$",
            "next",
        ])
    }

    @Test func cutsAnOverLongLineThatArrivesInSmallReads() {
        let chunks = Array(repeating: "0123456789", count: 10) + ["\n"]
        let lines = frame(chunks, maxLineBytes: 32, readSize: 16)
        #expect(lines.count == 4)
        #expect(lines.last == "6789#4$")
        #expect(lines.map { $0.split(separator: "#")[0] }.joined() == chunks.joined().dropLast())
    }

    @Test func neverCutsInsideAUTF8Character() {
        // 15 ASCII bytes, then "é" (2 bytes) straddling the 16-byte limit.
        let line = String(repeating: "x", count: 15) + "é" + "yy"
        let parts = frame([line + "\n"], maxLineBytes: 16)
        #expect(parts == [String(repeating: "x", count: 15) + "#1", "éyy#2$"])
    }

    @Test func aLongLastLineWithoutNewlineEndsWithALastPart() {
        #expect(frame([String(repeating: "z", count: 40)], maxLineBytes: 16) == [
            String(repeating: "z", count: 16) + "#1", String(repeating: "z", count: 16) + "#2", "zzzzzzzz#3$",
        ])
    }

    @Test func aBorrowedBufferFramesAsTheFramersOwn() {
        let long = String(repeating: "é", count: 70)  // 140 bytes: parts, and pending beyond the small buffer
        let chunks = ["one\ntw", "o\n" + long.prefix(30), long.dropFirst(30) + "\nthr", "ee\r\n", "\nlast"]
        let owned = frame(chunks, maxLineBytes: 100)
        #expect(frame(chunks, maxLineBytes: 100, lending: true) == owned)
        #expect(owned.first == "one" && owned.last == "last" && owned.count == 7)
    }

    @Test func discardingPendingBytesReportsThem() {
        var framer = LineFramer(maxLineBytes: 64)
        Array("done\nhalf a li".utf8).withUnsafeBytes { framer.append($0) }
        #expect(framer.nextLine().map { String(decoding: $0.bytes, as: UTF8.self) } == "done")
        #expect(framer.nextLine() == nil)
        #expect(framer.discardPending() == 9)
        #expect(framer.finish() == nil)
    }
}
