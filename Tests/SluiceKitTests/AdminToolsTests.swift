import SluiceTesting
import Testing

@testable import SluiceKit

@Suite(.timeLimit(.minutes(10)), .watchdog) struct AdminToolsTests {
    @Test func queryStringsArePercentDecoded() {
        let query = QueryString.parse("inputs=scrub%2Csearch&where=level+%3E%3D+error&rate=100%2Fs&empty")
        #expect(query == ["inputs": "scrub,search", "where": "level >= error", "rate": "100/s", "empty": ""])
        #expect(QueryString.decode("50%") == "50%" && QueryString.decode("%zz") == "%zz")
    }

    @Test func chunkedLinesComeOutWhateverTheCuts() {
        let response = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\none\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n".utf8)
        for cut in 1..<response.count {
            var decoder = ChunkedLines()
            decoder.feed(response[..<cut])
            decoder.feed(response[cut...])
            var lines: [String] = []
            while let line = decoder.nextLine() { lines.append(String(line)) }
            #expect(decoder.status == 200 && lines == ["one", "two", "three"] && decoder.bodyComplete, "cut at \(cut): \(lines)")
        }
    }

    @Test func anErrorAnswerKeepsItsBody() {
        var decoder = ChunkedLines()
        decoder.feed(ArraySlice(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\nno such one\n".utf8)))
        #expect(decoder.status == 404 && decoder.plainBody == "no such one")
    }

    @Test func metricsTextReadsBack() {
        let snapshot = MetricsSnapshot(text: """
            # TYPE sluice_sink_events_total counter
            sluice_sink_events_total{sink="a b"} 12
            sluice_sink_dropped_events_total{sink="x",reason="sink_busy"} 3
            sluice_ring_slots 16
            """, takenAtNanoseconds: 0)
        #expect(snapshot.values("sluice_sink_events_total", by: "sink") == ["a b": 12])
        #expect(snapshot.samples.first { $0.name == "sluice_sink_dropped_events_total" }?.labels == ["sink": "x", "reason": "sink_busy"])
        #expect(snapshot.value("sluice_ring_slots") == 16)
    }
}
