import Benchmark
import BenchmarkSupport
import SluiceCore

/// A slice of the shape of the shared JSON corpus (gen_corpus.py --flavour json).
let jsonLines = (0..<1000).map { index in
    #"{"ts":"2024-06-01T00:00:\#(String(format2: index % 60)).\#(String(format3: index % 1000))Z","level":"info","svc":"checkout","msg":"request completed","req_id":"8eb714f11b591e81","path":"/api/v1/orders/\#(index)","status":200,"dur_ms":154.11,"ua":"Go-http-client/1.1","ctx":{"user":\#(index * 7),"region":"eu-west-1"}}"#
}
let logfmtLines = (0..<1000).map { index in
    #"ts=2024-06-01T00:00:00.\#(String(format3: index % 1000))Z level=info svc=checkout msg="request completed" req_id=8eb714f11b591e81 path=/api/v1/orders/\#(index) status=200 dur_ms=154.11"#
}
let textLines = (0..<1000).map { index in
    #"34.227.210.\#(index % 255) - - [01/Jun/2024:00:00:00 +0000] "GET /api/v1/orders/\#(index) HTTP/1.1" 200 57013 "-" "Chrome/124""#
}

extension String {
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
    init(format3 value: Int) { self = value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)" }
}

func corpus(_ lines: [String]) -> [UInt8] {
    Array((lines.joined(separator: "\n") + "\n").utf8)
}

/// Each benchmark iteration processes the 1000 lines of its corpus once, so with
/// `scalingFactor: .kilo` the throughput column reads in lines per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .perEvent
    let json = corpus(jsonLines)
    let text = corpus(textLines)

    Benchmark("frame_lines_json") { benchmark in
        var framer = LineFramer(maxLineBytes: 1 << 20, readSize: 1 << 20)
        var lines = 0
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            json.withUnsafeBytes { framer.append($0) }
            while let line = framer.nextLine() { lines &+= line.bytes.count }
        }
        blackHole(lines)
    }

    Benchmark("scan_json_objects") { benchmark in
        var scanner = JSONObjectScanner()
        let lines = jsonLines.map { Array($0.utf8) }
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            for line in lines {
                blackHole(line.withUnsafeBytes { scanner.scan($0) })
            }
        }
    }

    let cases: [(String, [UInt8], InputFormat)] = [
        ("encode_json_lines", json, .auto), ("encode_plain_lines", text, .auto), ("encode_logfmt_lines", corpus(logfmtLines), .logfmt),
    ]
    for (name, input, format) in cases {
        Benchmark(name) { benchmark in
            var encoder = EventEncoder(format: format, metadata: EventMetadata(host: "bench", sourceName: "app"))
            var framer = LineFramer(maxLineBytes: 1 << 20, readSize: 1 << 20)
            benchmark.startMeasurement()
            for _ in 0..<benchmark.scaledIterations.count / 1000 {
                var builder = EventBatchBuilder(byteCapacity: 1 << 19)
                input.withUnsafeBytes { framer.append($0) }
                while let line = framer.nextLine() {
                    encoder.encode(line, into: &builder)
                }
                blackHole(builder.count)
            }
        }
    }
}
