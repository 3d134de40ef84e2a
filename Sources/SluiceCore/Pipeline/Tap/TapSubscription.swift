import SluiceSync
import Synchronization

/// One `sluice tap` client's wishes and its queue: the components it taps (all outputs when
/// none are named), a `where` filter, a rate in events per second, and at most `capacity`
/// lines waiting for the client. Past the capacity (a slow client) events are dropped and
/// counted; past the rate they are sampled out and counted apart.
public final class TapSubscription: @unchecked Sendable {
    // @unchecked: the queue, the counts and the matcher are used only under `state`.
    public struct Drained: Sendable {
        public var lines: [UInt8]
        public var count: Int
        public var dropped: Int
        public var sampledOut: Int
    }

    private struct State {
        var lines: [UInt8] = []
        var count = 0
        var dropped = 0
        var sampledOut = 0
        var tokens: Double
        var refilledAt: UInt64
    }

    private let components: Set<String>
    private let matcher: EventMatcher?
    private let eventsPerSecond: Double
    private let capacity: Int
    private let state: TryLocked<State>
    /// Events skipped because another thread was giving this subscription events right then.
    private let skippedWhileBusy = Atomic<Int>(0)

    public init(components: Set<String>, filter: Expression?, eventsPerSecond: Double, capacity: Int = 10_000) {
        self.components = components
        matcher = filter.map { EventMatcher([$0]) }
        self.eventsPerSecond = eventsPerSecond
        self.capacity = capacity
        state = TryLocked(State(tokens: eventsPerSecond, refilledAt: MonotonicClock.nowNanoseconds()))
    }

    func wants(_ component: String, _ point: TapPoint) -> Bool {
        components.isEmpty ? point == .output : components.contains(component)
    }

    /// Keeps the events of `batch` that pass the filter, within the rate and the capacity.
    /// Never waits: when another thread is doing the same, the batch is skipped and counted.
    func take(_ batch: EventBatch, component: String, point: TapPoint) {
        let taken = state.withValueIfFree { state in
            let now = MonotonicClock.nowNanoseconds()
            state.tokens = min(eventsPerSecond, state.tokens + Double(now - state.refilledAt) / 1e9 * eventsPerSecond)
            state.refilledAt = now
            for position in 0..<batch.count {
                let event = batch[position]
                if let matcher {
                    matcher.load(event)
                    guard matcher.matches(0) else { continue }
                }
                guard state.tokens >= 1 else {
                    state.sampledOut += 1
                    continue
                }
                guard state.count < capacity else {
                    state.dropped += 1
                    continue
                }
                state.tokens -= 1
                state.lines += Array(#"{"component":"#.utf8)
                state.lines += Self.quoted(component)
                state.lines += Array(#","point":""#.utf8) + Array(point.rawValue.utf8) + Array(#"","event":"#.utf8)
                state.lines += Array(event.json)
                state.lines += Array("}\n".utf8)
                state.count += 1
            }
        }
        if taken == nil { skippedWhileBusy.add(batch.count, ordering: .relaxed) }
    }

    /// Takes what waits, and the counts since the last call.
    public func drain() -> Drained {
        state.withValue { state in
            defer {
                state.lines.removeAll(keepingCapacity: true)
                state.count = 0
                state.dropped = 0
                state.sampledOut = 0
            }
            let skipped = skippedWhileBusy.exchange(0, ordering: .relaxed)
            return Drained(lines: state.lines, count: state.count, dropped: state.dropped + skipped, sampledOut: state.sampledOut)
        }
    }

    private static func quoted(_ text: String) -> [UInt8] {
        var writer = ByteWriter(capacity: text.utf8.count + 8)
        writer.appendJSONString(text)
        return Array(writer.bytes)
    }
}
