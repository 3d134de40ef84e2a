import SluiceSync

/// Names one batch handed to a sink: what became of its events is reported against it. It
/// carries when the batch was read, for the sink's delivery latency; it is known by its number.
public struct DeliveryTicket: Hashable, Sendable {
    public let number: UInt64
    /// When the batch's events were read (wall-clock milliseconds); 0 when unknown.
    public let readAtMilliseconds: Int64

    public init(_ number: UInt64, readAtMilliseconds: Int64 = 0) {
        self.number = number
        self.readAtMilliseconds = readAtMilliseconds
    }

    public static func == (left: DeliveryTicket, right: DeliveryTicket) -> Bool { left.number == right.number }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(number)
    }
}

/// Learns when every event of a ticket is settled: a disk buffer lets the batch's record go.
public protocol DeliveryAcknowledger: AnyObject, Sendable {
    /// Every event of `ticket` was delivered or dropped with a reason other than the stop.
    func acknowledge(_ ticket: DeliveryTicket)

    /// The sink stopped before settling all of `ticket` (the stop, or a reload that replaced
    /// it): the record is kept to be handed out again. False when the buffer no longer has it
    /// (its `drop_oldest` evicted it meanwhile).
    func release(_ ticket: DeliveryTicket) -> Bool
}

/// Where a sink reports what became of its events, and whether it is healthy; what it needs to
/// know of the stop.
///
/// A sink settles each ticket's events as delivered or dropped (with a reason), in any number
/// of parts and from any thread. Behind a memory buffer that is counting; behind a disk buffer
/// the report also keeps each ticket's unsettled events and tells the buffer when none is left,
/// and events dropped for the stop (`shutdown`) are not dropped at all: their record goes back
/// to the buffer, for the version that replaces the sink at a reload, or the next start.
public final class DeliveryReport: Sendable {
    public let counters: SinkCounters
    /// Lets a sink's own retry loops stop waiting when the grace period ends.
    public let shutdown: ShutdownSignal
    /// The sink's `when_full` policy, for a sink that retries on its own: under `block` it
    /// keeps what it could not deliver, under the drop policies it counts it as dropped.
    public let whenFull: WhenFull
    /// `shutdown.grace_period`: how long a sink's own processes get to finish at the end.
    public let gracePeriodNanoseconds: UInt64
    private let acknowledger: (any DeliveryAcknowledger)?
    /// Unsettled tickets (only with an acknowledger).
    private let outstanding = Locked<[UInt64: Unsettled]>([:])

    private struct Unsettled {
        var events: Int
        /// Events dropped for the stop: the ticket's record goes back to the buffer.
        var givenBack = 0
    }

    public init(
        counters: SinkCounters, shutdown: ShutdownSignal, whenFull: WhenFull = .block, gracePeriodNanoseconds: UInt64 = 10_000_000_000,
        acknowledger: (any DeliveryAcknowledger)? = nil
    ) {
        self.counters = counters
        self.shutdown = shutdown
        self.whenFull = whenFull
        self.gracePeriodNanoseconds = gracePeriodNanoseconds
        self.acknowledger = acknowledger
    }

    /// Whether events dropped for the stop stay in a buffer for the next start.
    public var keepsWhatTheStopLeaves: Bool { acknowledger != nil }

    /// A batch of `events` is handed to the sink under `ticket` (the runner says so first).
    func issue(_ ticket: DeliveryTicket, events: Int) {
        guard let acknowledger else { return }
        guard events > 0 else { return acknowledger.acknowledge(ticket) }
        outstanding.withLock { $0[ticket.number] = Unsettled(events: events) }
    }

    public func delivered(_ ticket: DeliveryTicket, events: Int, bytes: Int) {
        counters.events.add(events)
        counters.bytes.add(bytes)
        if ticket.readAtMilliseconds > 0 {
            counters.latency.observe(milliseconds: EventTimestamp.nowMilliseconds() - ticket.readAtMilliseconds, events: events)
        }
        settle(ticket, events: events)
    }

    public func dropped(_ ticket: DeliveryTicket, _ reason: DropReason, events: Int) {
        if reason == .shutdown && keepsWhatTheStopLeaves { return settle(ticket, events: events, givingBack: true) }
        counters.dropped(reason).add(events)
        settle(ticket, events: events)
    }

    /// Marks the sink unhealthy with a reason (shown by `/readyz`), or healthy again with nil.
    public func setProblem(_ problem: String?) {
        counters.setProblem(problem)
    }

    /// Counts `events` of `ticket` as settled; once all are, the buffer lets its record go, or
    /// (if any was dropped for the stop) takes it back, whole, to hand out again: the delivered
    /// part goes again too (at least once; the indexer knows an event by its id).
    private func settle(_ ticket: DeliveryTicket, events: Int, givingBack: Bool = false) {
        guard let acknowledger, events > 0 else { return }
        let done = outstanding.withLock { tickets -> Unsettled? in
            guard var unsettled = tickets[ticket.number] else { return nil }
            if givingBack { unsettled.givenBack += events }
            unsettled.events -= events
            tickets[ticket.number] = unsettled.events > 0 ? unsettled : nil
            return unsettled.events > 0 ? nil : unsettled
        }
        guard let done else { return }
        guard done.givenBack > 0 else { return acknowledger.acknowledge(ticket) }
        if !acknowledger.release(ticket) { counters.dropped(.bufferOverrun).add(done.givenBack) }
    }
}

/// A sink's settled events in parts that may span tickets: what a sink that merges batches
/// (into requests, compressed chunks, a pipe) keeps per part, to settle each ticket's share.
public struct TicketShares: Sendable {
    public private(set) var shares: [(ticket: DeliveryTicket, events: Int)] = []

    public init() {}

    public var isEmpty: Bool { shares.isEmpty }
    public var events: Int { shares.reduce(0) { $0 + $1.events } }

    /// `events` more of `ticket` (merged with the last share when it is the same ticket).
    public mutating func add(_ ticket: DeliveryTicket, events: Int) {
        guard events > 0 else { return }
        if let last = shares.last, last.ticket == ticket {
            shares[shares.count - 1].events += events
        } else {
            shares.append((ticket, events))
        }
    }

    /// Removes and returns the first `events` events' shares (oldest first).
    public mutating func takeFirst(_ events: Int) -> TicketShares {
        var taken = TicketShares()
        var left = events
        while left > 0, !shares.isEmpty {
            let first = shares[0]
            let part = min(left, first.events)
            taken.add(first.ticket, events: part)
            if part == first.events { shares.removeFirst() } else { shares[0].events -= part }
            left -= part
        }
        return taken
    }

    /// Removes and returns the last `events` events' shares (newest last).
    public mutating func takeLast(_ events: Int) -> TicketShares {
        var taken: [(ticket: DeliveryTicket, events: Int)] = []
        var left = events
        while left > 0, let last = shares.last {
            let part = min(left, last.events)
            taken.insert((last.ticket, part), at: 0)
            if part == last.events { shares.removeLast() } else { shares[shares.count - 1].events -= part }
            left -= part
        }
        var result = TicketShares()
        for share in taken { result.add(share.ticket, events: share.events) }
        return result
    }

    public mutating func removeAll() {
        shares.removeAll()
    }

    /// Settles every share as delivered (bytes attributed in proportion to events).
    public func delivered(bytes: Int, to report: DeliveryReport) {
        let total = max(1, events)
        for share in shares { report.delivered(share.ticket, events: share.events, bytes: bytes * share.events / total) }
    }

    /// Settles every share as dropped for `reason`.
    public func dropped(_ reason: DropReason, to report: DeliveryReport) {
        for share in shares { report.dropped(share.ticket, reason, events: share.events) }
    }
}
