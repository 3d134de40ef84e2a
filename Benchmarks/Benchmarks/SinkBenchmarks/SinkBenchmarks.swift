import Benchmark
import BenchmarkSupport
import SluiceCore
import SluiceSinks

/// 1000 events of the shape of the shared JSON corpus, encoded as Sluice routes them.
func encodedEvents() -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "bench", sourceName: "app"))
    var builder = EventBatchBuilder(byteCapacity: 1 << 19)
    for index in 0..<1000 {
        let line = #"{"ts":"2024-06-01T00:00:\#(index % 50 + 10).123Z","level":"info","svc":"checkout","msg":"request completed","req_id":"8eb714f11b5\#(index)","path":"/api/v1/orders/\#(index)","status":200,"dur_ms":154.11,"ctx":{"user":\#(index * 7),"region":"eu-west-1"}}"#
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}

/// Each iteration handles the 1000 events once: with `scalingFactor: .kilo` the throughput
/// column reads in events per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .perEvent
    let events = encodedEvents()

    for level in [1, 6] as [Int32] {
        Benchmark("gzip_member_level_\(level)") { benchmark in
            var compressor = GzipMemberCompressor(level: level)
            var output = ByteWriter(capacity: 1 << 20)
            benchmark.startMeasurement()
            for _ in 0..<benchmark.scaledIterations.count / 1000 {
                output.removeAll()
                compressor.compressMember(events.bytes, into: &output)
                blackHole(output.count)
            }
        }
    }

    Benchmark("bulk_encode_create_with_ids") { benchmark in
        let format = BulkFormat(target: .index("logs-{source}-%Y.%m.%d"))
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            let request = RequestBatch(capacity: 1 << 20, nowNanoseconds: 0)
            for position in 0..<events.count { format.append(events[position], sourceName: "app", to: request) }
            blackHole(request.count)
        }
    }
}
