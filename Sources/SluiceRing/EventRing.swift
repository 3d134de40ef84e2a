import Synchronization

/// A bounded ring in the LMAX Disruptor style: many producers, many consumers, every consumer
/// sees every element in sequence order.
///
/// Each element is meant to be a batch of events, so the atomic traffic per event is tiny.
/// Producers `claim` a sequence (one compare-and-swap over the cursor, which also reserves the
/// batch's events in a running total), fill the element, then `publish` it; several producers
/// may publish out of claim order and consumers still see sequences in order. A consumer that
/// gates the producers holds them back when it is a full ring behind; one that does not is
/// overwritten instead and counts exactly how many events it skipped.
///
/// Fan-out copies nothing: every consumer reads the same element, and the last one to commit a
/// sequence clears its slot so the element's memory is released as soon as all are done.
///
/// `@unchecked Sendable`: shared state is atomics, plus slot contents guarded by each slot's
/// spin lock; the consumer list is fixed at initialisation.
public final class EventRing<Element>: @unchecked Sendable {
    public let capacity: Int
    public let consumers: [RingConsumer]
    private let mask: Int
    private let controls: UnsafeMutablePointer<RingSlotControl>
    private let contents: UnsafeMutablePointer<RingSlotContent<Element>>
    private let gatingConsumers: [RingConsumer]
    /// `first`: the next sequence to claim, with `closedFlag` set once closed.
    /// `second`: events claimed before that sequence.
    private let cursor = PaddedAtomic<WordPair>(WordPair(first: 0, second: 0))
    /// The slowest gating consumer's position as last seen by any producer.
    private let gatingCache = PaddedAtomic<Int>(0)
    private let dataArrived = Parker()
    private let spaceFreed = Parker()
    private let waitStrategy: WaitStrategy
    private static var closedFlag: UInt { 1 << 62 }

    /// - Parameters:
    ///   - capacity: slots in the ring, rounded up to a power of two.
    ///   - consumerGating: one entry per consumer, in order: whether it gates the producers.
    public init(capacity: Int, consumerGating: [Bool], waitStrategy: WaitStrategy = WaitStrategy()) {
        precondition(capacity > 0, "a ring needs at least one slot")
        let size = Self.slots(forCapacity: capacity)
        self.capacity = size
        self.mask = size - 1
        self.waitStrategy = waitStrategy
        self.consumers = consumerGating.map { RingConsumer(gatesProducers: $0) }
        self.gatingConsumers = consumers.filter(\.gatesProducers)
        controls = .allocate(capacity: size)
        contents = .allocate(capacity: size)
        for index in 0..<size {
            (controls + index).initialize(to: RingSlotControl())
            (contents + index).initialize(to: RingSlotContent())
        }
    }

    /// The slots a ring asked for `capacity` has: the next power of two.
    public static func slots(forCapacity capacity: Int) -> Int {
        var size = 1
        while size < capacity { size <<= 1 }
        return size
    }

    deinit {
        controls.deinitialize(count: capacity)
        contents.deinitialize(count: capacity)
        controls.deallocate()
        contents.deallocate()
    }

    // MARK: Producers

    /// Reserves the next sequence for an element holding `eventCount` events, waiting while the
    /// ring is full. Returns nil once the ring is closed.
    public func claim(eventCount: Int) -> RingClaim? {
        while true {
            let current = cursor.atomic.pointee.load(ordering: .acquiring)
            if current.first & Self.closedFlag != 0 { return nil }
            let sequence = Int(current.first)
            if !gatingConsumers.isEmpty && sequence >= gatingCache.atomic.pointee.load(ordering: .relaxed) + capacity {
                guard waitForSpace(sequence: sequence) else { return nil }
                continue
            }
            let desired = WordPair(first: current.first + 1, second: current.second + UInt(eventCount))
            if cursor.atomic.pointee.compareExchange(expected: current, desired: desired, ordering: .acquiringAndReleasing).exchanged {
                return RingClaim(sequence: sequence, eventCount: eventCount, eventsBefore: Int(current.second))
            }
        }
    }

    /// Makes a claimed sequence visible to consumers.
    public func publish(_ element: Element, for claim: RingClaim) {
        let cell = claim.sequence & mask
        controls[cell].acquire()
        // Whatever an overwritten cell still holds is released after the lock, below.
        let overwritten = contents[cell].element
        contents[cell] = RingSlotContent(
            element: consumers.isEmpty ? nil : element,
            eventCount: claim.eventCount,
            eventsBefore: claim.eventsBefore,
            pendingReaders: consumers.count
        )
        controls[cell].stamp.store(claim.sequence, ordering: .releasing)
        controls[cell].release()
        withExtendedLifetime(overwritten) {}
        dataArrived.wakeAll()
    }

    /// Ends the stream: later claims return nil, waiting producers wake up, and consumers finish
    /// once they have read everything published. Call it after every producer has published its
    /// last claim (a claim that is never published would hold consumers forever).
    public func close() {
        var current = cursor.atomic.pointee.load(ordering: .acquiring)
        while current.first & Self.closedFlag == 0 {
            let desired = WordPair(first: current.first | Self.closedFlag, second: current.second)
            let result = cursor.atomic.pointee.compareExchange(expected: current, desired: desired, ordering: .acquiringAndReleasing)
            if result.exchanged { break }
            current = result.original
        }
        dataArrived.wakeAll()
        spaceFreed.wakeAll()
    }

    public var isClosed: Bool {
        cursor.atomic.pointee.load(ordering: .acquiring).first & Self.closedFlag != 0
    }

    /// Sequences claimed so far.
    public var claimedSequences: Int {
        Int(cursor.atomic.pointee.load(ordering: .acquiring).first & ~Self.closedFlag)
    }

    /// Events claimed so far.
    public var claimedEvents: Int {
        Int(cursor.atomic.pointee.load(ordering: .acquiring).second)
    }

    /// Claimed sequences the slowest gating consumer has not committed yet.
    public var occupancy: Int {
        guard !gatingConsumers.isEmpty else { return 0 }
        return max(0, claimedSequences - minimumGatingSequence())
    }

    private func minimumGatingSequence() -> Int {
        var minimum = Int.max
        for consumer in gatingConsumers {
            minimum = min(minimum, consumer.nextSequence.atomic.pointee.load(ordering: .acquiring))
        }
        return minimum
    }

    /// Waits until `sequence` fits behind the slowest gating consumer. False when closed.
    private func waitForSpace(sequence: Int) -> Bool {
        var closed = false
        _ = waitStrategy.wait(on: spaceFreed, deadlineNanoseconds: nil) {
            if isClosed {
                closed = true
                return true
            }
            let gate = minimumGatingSequence()
            gatingCache.atomic.pointee.store(gate, ordering: .relaxed)
            return sequence < gate + capacity
        }
        return !closed
    }

    // MARK: Consumers

    /// The consumer's next element, waiting until one is published, the ring is closed and
    /// drained, or the monotonic deadline passes.
    public func poll(_ consumer: RingConsumer, deadlineNanoseconds: UInt64? = nil) -> RingPoll<Element> {
        while true {
            let sequence = consumer.nextSequence.atomic.pointee.load(ordering: .relaxed)
            let cell = sequence & mask
            let stamp = controls[cell].stamp.load(ordering: .acquiring)
            if stamp == sequence {
                if let element = read(cell, sequence: sequence, for: consumer) {
                    let endOfRun = controls[(sequence + 1) & mask].stamp.load(ordering: .acquiring) != sequence + 1
                    return .element(element, sequence: sequence, endOfRun: endOfRun)
                }
                continue
            }
            if stamp > sequence {
                skipAhead(consumer, from: sequence)
                continue
            }
            if isClosed && sequence >= claimedSequences { return .finished }
            let ready = waitStrategy.wait(on: dataArrived, deadlineNanoseconds: deadlineNanoseconds) {
                controls[cell].stamp.load(ordering: .acquiring) != stamp || (isClosed && sequence >= claimedSequences)
            }
            if !ready { return .timedOut }
        }
    }

    /// Says the consumer is done with `sequence`: the producers may reuse its slot, and the last
    /// consumer to commit releases the element.
    public func commit(_ consumer: RingConsumer, sequence: Int) {
        let cell = sequence & mask
        controls[cell].acquire()
        var released: Element?
        if controls[cell].stamp.load(ordering: .relaxed) == sequence {
            contents[cell].pendingReaders -= 1
            if contents[cell].pendingReaders == 0 {
                released = contents[cell].element.take()
            }
        }
        controls[cell].release()
        withExtendedLifetime(released) {}
        consumer.nextSequence.atomic.pointee.store(sequence + 1, ordering: .releasing)
        if consumer.gatesProducers { spaceFreed.wakeAll() }
    }

    /// What `consumer` has yet to commit, as the ring holds it now (cells already reused are
    /// left out): for counting what a consumer that will not finish still had to do.
    public func unread(by consumer: RingConsumer) -> [Element] {
        let end = claimedSequences
        let start = max(consumer.nextSequence.atomic.pointee.load(ordering: .acquiring), end - capacity)
        var elements: [Element] = []
        for sequence in max(start, 0)..<max(end, 0) {
            let cell = sequence & mask
            controls[cell].acquire()
            if controls[cell].stamp.load(ordering: .relaxed) == sequence, let element = contents[cell].element {
                elements.append(element)
            }
            controls[cell].release()
        }
        return elements
    }

    /// Reads a published slot under its lock; nil when it was overwritten in between.
    private func read(_ cell: Int, sequence: Int, for consumer: RingConsumer) -> Element? {
        controls[cell].acquire()
        defer { controls[cell].release() }
        guard controls[cell].stamp.load(ordering: .relaxed) == sequence, let element = contents[cell].element else {
            return nil
        }
        let content = contents[cell]
        let missed = content.eventsBefore - consumer.eventsAccounted
        if missed > 0 { consumer.countDropped(missed) }
        consumer.eventsAccounted = content.eventsBefore + content.eventCount
        return element
    }

    /// A consumer that does not gate was overwritten at `sequence`: jump to an old sequence that
    /// is still intact, leaving an eighth of the ring as headroom. The events skipped are counted
    /// when that sequence is read (its `eventsBefore` minus what the consumer accounted for).
    private func skipAhead(_ consumer: RingConsumer, from sequence: Int) {
        let headroom = capacity / 8
        let resume = max(sequence + 1, claimedSequences - capacity + headroom)
        consumer.nextSequence.atomic.pointee.store(resume, ordering: .releasing)
    }
}
