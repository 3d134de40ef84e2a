public import SluiceCore
import SluiceSync
import Synchronization

/// A sink that keeps every event it receives as a JSON string, for tests. It can be told to
/// fail its next writes, to check retry and drop policies.
public final class InMemorySink: Sink, Sendable {
    private let state = Locked<State>(State())

    private struct State {
        var events: [String] = []
        var sourceIndices: [Int] = []
        var sequences: [UInt64] = []
        var failuresToInject = 0
        var permanentFailure = false
        var writes = 0
        var flushes = 0
        var finished = false
    }

    public init() {}

    public var events: [String] { state.withLock { $0.events } }
    public var sourceIndices: [Int] { state.withLock { $0.sourceIndices } }
    /// Each event's sequence in its stream (its identity, with the stream).
    public var sequences: [UInt64] { state.withLock { $0.sequences } }
    public var writeCount: Int { state.withLock { $0.writes } }
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// The next `count` writes throw a transient error.
    public func failNextWrites(_ count: Int) {
        state.withLock { $0.failuresToInject = count }
    }

    /// Every write from now on throws a permanent error.
    public func failPermanently() {
        state.withLock { $0.permanentFailure = true }
    }

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        try state.withLock { state in
            state.writes += 1
            if state.permanentFailure { throw SinkError.permanent("test output closed") }
            if state.failuresToInject > 0 {
                state.failuresToInject -= 1
                throw SinkError.transient("injected failure")
            }
            for position in 0..<batch.count {
                state.events.append(String(decoding: batch[position].json, as: UTF8.self))
                state.sourceIndices.append(batch.sourceIndex)
                state.sequences.append(batch[position].sequence)
            }
        }
    }

    public func flush() throws {
        state.withLock { $0.flushes += 1 }
    }

    public func finish() throws {
        state.withLock { $0.finished = true }
    }
}

/// A sink that takes `delayNanoseconds` per batch: a slow downstream.
public final class SlowSink: Sink, Sendable {
    private let delayNanoseconds: UInt64
    private let received = Atomic<Int>(0)

    public init(delayNanoseconds: UInt64) {
        self.delayNanoseconds = delayNanoseconds
    }

    public var eventsReceived: Int { received.load(ordering: .relaxed) }

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        ChildProcess.pause(milliseconds: Int(delayNanoseconds / 1_000_000))
        received.add(batch.count, ordering: .relaxed)
    }
}

/// A sink whose writes block until `release()`: a downstream that stopped answering.
public final class StuckSink: Sink, Sendable {
    private let released = Locked(false)
    private let received = Atomic<Int>(0)

    public init() {}

    public var eventsReceived: Int { received.load(ordering: .relaxed) }

    public func release() {
        released.withLock { $0 = true }
    }

    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        while !released.withLock({ $0 }) { ChildProcess.pause(milliseconds: 2) }
        received.add(batch.count, ordering: .relaxed)
    }
}

extension AcknowledgingSink {
    /// Hands a batch to a sink directly, as its runner would, under a ticket nobody tracks.
    public func write(_ batch: EventBatch, endOfRun: Bool) throws {
        try write(batch, ticket: DeliveryTicket(0), endOfRun: endOfRun)
    }
}
