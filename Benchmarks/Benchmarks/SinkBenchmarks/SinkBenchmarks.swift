import Benchmark
import BenchmarkSupport
import SluiceCore
import SluiceSinks

/// Each iteration handles the 1000 events once: with `scalingFactor: .kilo` the throughput
/// column reads in events per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .perEvent
    let events = corpusEvents()

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
