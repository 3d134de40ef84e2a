/// A sink's delivery latency: how long events took from being read to being delivered (a sink
/// that settles its own tickets: acknowledged), as a Prometheus histogram weighted by events.
/// Lock-free: a relaxed atomic add per bucket touched, once per settled part of a batch.
public final class LatencyHistogram: Sendable {
    /// Upper bounds of the buckets, in milliseconds (and `+Inf`).
    public static let boundsMilliseconds: [Int64] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000]

    /// One per bound, and one past the last: the count is their sum, so a scrape never sees a
    /// `+Inf` bucket below the one before it.
    private let buckets: [Counter]
    private let sumMilliseconds = Counter()

    public init() {
        buckets = (0...Self.boundsMilliseconds.count).map { _ in Counter() }
    }

    /// `events` delivered `milliseconds` after they were read (a clock step back counts as 0).
    public func observe(milliseconds: Int64, events: Int) {
        let latency = max(0, milliseconds)
        buckets[Self.boundsMilliseconds.firstIndex(where: { latency <= $0 }) ?? Self.boundsMilliseconds.count].add(events)
        sumMilliseconds.add(Int(latency) * events)
    }

    /// The histogram's samples (cumulative buckets, `le` in seconds), for `/metrics`.
    public func samples(name: String, help: String, labels: [(String, String)]) -> [MetricSample] {
        var cumulative = 0
        var samples: [MetricSample] = []
        for (bound, bucket) in zip(Self.boundsMilliseconds, buckets) {
            cumulative += bucket.current
            samples.append(MetricSample(name + "_bucket", .histogram, family: name, help: help, labels: labels + [("le", Self.seconds(bound))], value: Double(cumulative)))
        }
        let total = cumulative + buckets[Self.boundsMilliseconds.count].current
        samples.append(MetricSample(name + "_bucket", .histogram, family: name, help: help, labels: labels + [("le", "+Inf")], value: Double(total)))
        samples.append(MetricSample(name + "_sum", .histogram, family: name, help: help, labels: labels, value: Double(sumMilliseconds.current) / 1000))
        samples.append(MetricSample(name + "_count", .histogram, family: name, help: help, labels: labels, value: Double(total)))
        return samples
    }

    private static func seconds(_ milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : String(Double(milliseconds) / 1000)
    }
}
