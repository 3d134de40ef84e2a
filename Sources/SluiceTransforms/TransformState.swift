import SluiceCore
import SluiceSync
import Synchronization

/// What one transform counts and remembers, shared by every thread that runs it: events in and
/// out, drops by step and reason, and the state of its `sample`, `throttle` and `dedupe` steps.
///
/// A reload builds it again from the new definition, `replacing` the running transform of the
/// same name: the counters go on, and a step whose settings are unchanged (the same fingerprint,
/// wherever it moved in the list) keeps its state and drop counts; a changed step starts afresh.
public final class TransformShared: Sendable {
    public let definition: TransformDefinition
    let eventsIn: Counter
    let eventsOut: Counter
    /// Per step: the reason its drops are counted under, and the count.
    let drops: [(reason: String, counter: Counter)?]
    /// Keys a throttle could not give a bucket of their own (per step).
    let overflowKeys: [Counter]
    let samples: [Int: SampleCounter]
    /// Throttle and dedupe state is one table per step for every thread (a key's rate and
    /// window hold across sources), so each decision takes its step's lock: the two waits on
    /// the transform path (see Sources/README.md).
    let throttles: [Int: Locked<TokenBuckets>]
    let dedupes: [Int: Locked<RecentKeys>]

    public init(_ definition: TransformDefinition, replacing running: TransformShared? = nil) {
        self.definition = definition
        eventsIn = running?.eventsIn ?? Counter()
        eventsOut = running?.eventsOut ?? Counter()
        let carried = Self.carriedSteps(definition, from: running)
        drops = definition.steps.enumerated().map { index, step in
            if let old = carried[index], let drop = running?.drops[old] { return drop }
            switch step {
            case .filter: return ("filtered", Counter())
            case .sample: return ("sampled", Counter())
            case .throttle: return ("throttled", Counter())
            case .dedupe: return ("duplicate", Counter())
            default: return nil
            }
        }
        overflowKeys = definition.steps.indices.map { index in carried[index].flatMap { running?.overflowKeys[$0] } ?? Counter() }
        var samples: [Int: SampleCounter] = [:]
        var throttles: [Int: Locked<TokenBuckets>] = [:]
        var dedupes: [Int: Locked<RecentKeys>] = [:]
        for (index, step) in definition.steps.enumerated() {
            let old = carried[index]
            switch step {
            case .sample: samples[index] = old.flatMap { running?.samples[$0] } ?? SampleCounter()
            case .throttle(let settings): throttles[index] = old.flatMap { running?.throttles[$0] } ?? Locked(TokenBuckets(settings))
            case .dedupe(let settings): dedupes[index] = old.flatMap { running?.dedupes[$0] } ?? Locked(RecentKeys(settings))
            default: break
            }
        }
        self.samples = samples
        self.throttles = throttles
        self.dedupes = dedupes
    }

    /// For each new step, the index of the running step it continues: the first not yet taken
    /// with the same fingerprint.
    private static func carriedSteps(_ definition: TransformDefinition, from running: TransformShared?) -> [Int: Int] {
        guard let running, definition.stepFingerprints.count == definition.steps.count,
              running.definition.stepFingerprints.count == running.definition.steps.count else { return [:] }
        var carried: [Int: Int] = [:]
        var taken = Set<Int>()
        for (index, fingerprint) in definition.stepFingerprints.enumerated() {
            let old = running.definition.stepFingerprints.indices.first { !taken.contains($0) && running.definition.stepFingerprints[$0] == fingerprint }
            guard let old, running.definition.steps[old].kind == definition.steps[index].kind else { continue }
            carried[index] = old
            taken.insert(old)
        }
        return carried
    }

    func metricSamples() -> [MetricSample] {
        let labels = [("transform", definition.name)]
        var samples = [
            MetricSample("sluice_transform_events_in_total", .counter, help: "Events a transform took in.", labels: labels, value: Double(eventsIn.current)),
            MetricSample("sluice_transform_events_out_total", .counter, help: "Events a transform passed on.", labels: labels, value: Double(eventsOut.current)),
        ]
        for (index, drop) in drops.enumerated() {
            guard let drop else { continue }
            let step = "\(index + 1):\(definition.steps[index].kind)"
            samples.append(MetricSample("sluice_transform_dropped_events_total", .counter, help: "Events a transform's step removed, by reason.",
                                        labels: labels + [("step", step), ("reason", drop.reason)], value: Double(drop.counter.current)))
            if case .throttle = definition.steps[index] {
                samples.append(MetricSample("sluice_transform_key_overflow_total", .counter, help: "Events whose throttle key found the key table full (they share one bucket).",
                                            labels: labels + [("step", step)], value: Double(overflowKeys[index].current)))
            }
        }
        return samples
    }
}

/// The events an unkeyed `sample` step has seen, every thread together: one atomic add per
/// event, so every `rate`-th event passes however many threads publish.
final class SampleCounter: Sendable {
    private let seen = Atomic<UInt64>(0)

    /// Whether this event is one of every `rate`.
    func passes(rate: UInt64) -> Bool {
        seen.wrappingAdd(1, ordering: .relaxed).oldValue % rate == 0
    }
}

/// A token bucket per key: `rate` tokens a second up to `burst`; an event takes one.
struct TokenBuckets: Sendable {
    private struct Bucket: Sendable {
        var tokens: Double
        var updated: UInt64
    }

    let settings: ThrottleSettings
    private var buckets: [UInt64: Bucket] = [:]
    private var shared: Bucket

    init(_ settings: ThrottleSettings) {
        self.settings = settings
        shared = Bucket(tokens: settings.burst, updated: 0)
    }

    /// Whether an event of `key` may go now; `overflowed` says its key found the table full.
    mutating func admit(_ key: UInt64, now: UInt64, overflowed: inout Bool) -> Bool {
        if var bucket = buckets[key] {
            let admitted = take(&bucket, now: now)
            buckets[key] = bucket
            return admitted
        }
        if buckets.count < settings.maxKeys {
            var bucket = Bucket(tokens: settings.burst, updated: now)
            let admitted = take(&bucket, now: now)
            buckets[key] = bucket
            return admitted
        }
        overflowed = true
        return take(&shared, now: now)
    }

    private func take(_ bucket: inout Bucket, now: UInt64) -> Bool {
        if now > bucket.updated {
            bucket.tokens = min(settings.burst, bucket.tokens + Double(now - bucket.updated) / 1e9 * settings.eventsPerSecond)
            bucket.updated = now
        }
        guard bucket.tokens >= 1 else { return false }
        bucket.tokens -= 1
        return true
    }
}

/// The keys let through in the last window, oldest first, at most `maxKeys`.
struct RecentKeys: Sendable {
    let settings: DedupeSettings
    private var seen: [UInt64: UInt64] = [:]
    private var order: [(key: UInt64, at: UInt64)] = []
    private var head = 0

    init(_ settings: DedupeSettings) {
        self.settings = settings
    }

    /// Whether `key` was let through less than a window ago; if not, it is remembered now.
    /// Threads sharing the state read their clocks at different moments, so `now` may be older
    /// than a time already recorded: that counts as no time passed.
    mutating func isDuplicate(_ key: UInt64, now: UInt64) -> Bool {
        expire(now: now)
        if let at = seen[key], Self.elapsed(since: at, now: now) < settings.windowNanoseconds { return true }
        seen[key] = now
        order.append((key, now))
        return false
    }

    private mutating func expire(now: UInt64) {
        while head < order.count, Self.elapsed(since: order[head].at, now: now) >= settings.windowNanoseconds || seen.count > settings.maxKeys {
            let oldest = order[head]
            if seen[oldest.key] == oldest.at { seen[oldest.key] = nil }
            head += 1
        }
        if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    private static func elapsed(since time: UInt64, now: UInt64) -> UInt64 {
        now > time ? now - time : 0
    }
}
