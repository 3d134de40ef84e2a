public import Benchmark

extension Benchmark.Configuration {
    /// Sluice's single-threaded micro benchmarks: each iteration handles a 1,000-event pass,
    /// so with `.kilo` scaling the throughput column reads in events (or lines) per second.
    ///
    /// Checked against `Benchmarks/Thresholds` (p90): allocations are exact (two more is a
    /// regression); time on a shared two-core machine moves by up to a third between runs.
    public static var perEvent: Benchmark.Configuration {
        .init(
            metrics: [.throughput, .wallClock, .mallocCountTotal],
            scalingFactor: .kilo,
            maxDuration: .seconds(2),
            thresholds: [
                .mallocCountTotal: .init(absolute: [.p90: 2]),
                .throughput: .init(relative: [.p90: 35]),
                .wallClock: .init(relative: [.p90: 35]),
            ]
        )
    }
}
