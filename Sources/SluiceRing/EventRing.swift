public import Synchronization

/// A bounded ring in the LMAX Disruptor style: many producers, many consumers, every consumer
/// sees every element in sequence order, and no thread ever takes a lock to move an element.
///
/// Each element is meant to be a batch of events, so the atomic traffic per event is tiny.
/// Producers `claim` a sequence (one compare-and-swap over the cursor, which also reserves the
/// batch's events in a running total), fill the element, then `publish` it by a release store of
/// the cell's stamp; several producers may publish out of claim order and consumers still see
/// sequences in order. A consumer that gates the producers holds them back when it is a full ring
/// behind; one that does not is overwritten instead and counts exactly how many events it
/// skipped. Threads wait (spin, yield, then park) only when they have nothing to do: a producer
/// facing a full ring, a consumer with nothing published.
///
/// Who owns what, and why no reader ever retains an element being released:
/// - A gating consumer reads the cell's `RingSlotContent` after an acquire load of its stamp and
///   copies the element (its own reference). Nothing writes that content until every gating
///   consumer has committed the sequence: producers claim the cell's next sequence only after
///   acquire loads of every gating cursor (directly, or through `gatingCache`, which is stored
///   with release after such loads), and the last gating consumer to commit (the one that brings
///   the cell's `pendingReaders` to zero, an acquire-release operation) clears the content before
///   its release store of its cursor. So every write to the content happens-after every read of
///   it.
/// - A consumer that does not gate (`drop_oldest`) never touches that content, which a producer
///   may overwrite at any time for all it knows. It reads the cell's `RingNode`, an immutable
///   object the producer puts in the cell through a `SharedReference`: the consumer pins the
///   reference, retains the node and unpins, and the producer that replaces the node never
///   releases it under a pin (the last of the two releases it). Having retained a node, the
///   consumer checks its sequence: a later one means it was lapped, and it discards the node and
///   skips ahead, counting the events in between (from `eventsBefore`). The last non-gating
///   consumer to commit a node empties the cell, unless a producer has already replaced it.
/// - `abandon(_:)` lets another thread look at what a stuck consumer left: it first stops that
///   consumer's commits (waiting out one in progress), so nothing it will read is cleared.
///
/// Fan-out copies nothing: every consumer reads the same element, and the last one to commit a
/// sequence clears its slot so the element's memory is released as soon as all are done. A ring
/// with no consumer that does not gate allocates nothing per element.
///
/// `@unchecked Sendable`: shared state is atomics, plus slot contents handed between threads by
/// the rules above; the consumer list is fixed at initialisation.
public final class EventRing<Element>: @unchecked Sendable {
    public let capacity: Int
    public let consumers: [RingConsumer]
    @usableFromInline let mask: Int
    @usableFromInline let controls: UnsafeMutablePointer<RingSlotControl<Element>>
    @usableFromInline let contents: UnsafeMutablePointer<RingSlotContent<Element>>
    @usableFromInline let gatingConsumers: [RingConsumer]
    @usableFromInline let lappingReaders: Int
    /// `first`: the next sequence to claim, with `closedFlag` set once closed.
    /// `second`: events claimed before that sequence.
    @usableFromInline let cursor = PaddedAtomic<WordPair>(WordPair(first: 0, second: 0))
    /// The slowest gating consumer's position as last seen by any producer.
    @usableFromInline let gatingCache = PaddedAtomic<Int>(0)
    @usableFromInline let dataArrived = Parker()
    @usableFromInline let spaceFreed = Parker()
    @usableFromInline let waitStrategy: WaitStrategy
    @usableFromInline let stepHook: (@Sendable (RingStep) -> Void)?
    @inlinable static var closedFlag: UInt { 1 << 62 }

    /// - Parameters:
    ///   - capacity: slots in the ring, rounded up to a power of two.
    ///   - consumerGating: one entry per consumer, in order: whether it gates the producers.
    ///   - stepHook: for tests, called at every `RingStep` (a stall there must hold up only the
    ///     threads that need what the stalled one is doing).
    public init(
        capacity: Int, consumerGating: [Bool], waitStrategy: WaitStrategy = WaitStrategy(),
        stepHook: (@Sendable (RingStep) -> Void)? = nil
    ) {
        precondition(capacity > 0, "a ring needs at least one slot")
        let size = Self.slots(forCapacity: capacity)
        self.capacity = size
        self.mask = size - 1
        self.waitStrategy = waitStrategy
        self.stepHook = stepHook
        self.consumers = consumerGating.map { RingConsumer(gatesProducers: $0) }
        self.gatingConsumers = consumers.filter(\.gatesProducers)
        self.lappingReaders = consumers.count - gatingConsumers.count
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
    @inlinable
    public func claim(eventCount: Int) -> RingClaim? {
        while true {
            let current = cursor.atomic.pointee.load(ordering: .acquiring)
            if current.first & Self.closedFlag != 0 { return nil }
            let sequence = Int(current.first)
            // Acquire: pairs with the release store of the cache (see the type's comment).
            if !gatingConsumers.isEmpty && sequence >= gatingCache.atomic.pointee.load(ordering: .acquiring) + capacity {
                guard waitForSpace(sequence: sequence) else { return nil }
                continue
            }
            let desired = WordPair(first: current.first + 1, second: current.second + UInt(eventCount))
            if cursor.atomic.pointee.compareExchange(expected: current, desired: desired, ordering: .acquiringAndReleasing).exchanged {
                let claim = RingClaim(sequence: sequence, eventCount: eventCount, eventsBefore: Int(current.second))
                stepHook?(.claimed(sequence: sequence))
                return claim
            }
        }
    }

    /// Makes a claimed sequence visible to consumers.
    @inlinable
    public func publish(_ element: Element, for claim: RingClaim) {
        let cell = claim.sequence & mask
        if !gatingConsumers.isEmpty {
            // Cleared by the last gating consumer of the cell's previous sequence; taken here
            // only in case a ring was built with a cell left full.
            let overwritten = contents[cell].element.take()
            contents[cell] = RingSlotContent(element: element, eventCount: claim.eventCount, eventsBefore: claim.eventsBefore)
            controls[cell].pendingReaders.store(gatingConsumers.count, ordering: .relaxed)
            withExtendedLifetime(overwritten) {}
        }
        if lappingReaders > 0 {
            let node = RingNode(element: element, claim: claim, readers: lappingReaders)
            controls[cell].node.replace(with: node) { $0.sequence > claim.sequence }
        }
        stepHook?(.writing(sequence: claim.sequence))
        if gatingConsumers.isEmpty {
            controls[cell].raiseStamp(to: claim.sequence)
        } else {
            controls[cell].stamp.store(claim.sequence, ordering: .releasing)
        }
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
    @usableFromInline
    func waitForSpace(sequence: Int) -> Bool {
        var closed = false
        _ = waitStrategy.wait(on: spaceFreed, deadlineNanoseconds: nil) {
            if isClosed {
                closed = true
                return true
            }
            let gate = minimumGatingSequence()
            // Release: hands on what the acquire loads of the cursors saw.
            gatingCache.atomic.pointee.store(gate, ordering: .releasing)
            return sequence < gate + capacity
        }
        return !closed
    }

    // MARK: Consumers

    /// The consumer's next element, waiting until one is published, the ring is closed and
    /// drained, or the monotonic deadline passes.
    @inlinable
    public func poll(_ consumer: RingConsumer, deadlineNanoseconds: UInt64? = nil) -> RingPoll<Element> {
        while true {
            let sequence = consumer.nextSequence.atomic.pointee.load(ordering: .relaxed)
            let cell = sequence & mask
            let stamp = controls[cell].stamp.load(ordering: .acquiring)
            if stamp == sequence {
                let element = consumer.gatesProducers ? readGated(cell, sequence: sequence) : readLapping(cell, sequence: sequence, for: consumer)
                if let element {
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
    @inlinable
    public func commit(_ consumer: RingConsumer, sequence: Int) {
        guard consumer.beginCommit() else { return }
        let cell = sequence & mask
        stepHook?(.committing(sequence: sequence, gating: consumer.gatesProducers))
        var released: Element?
        if consumer.gatesProducers {
            if controls[cell].pendingReaders.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                released = contents[cell].element.take()
            }
        } else if let node = controls[cell].node.load(), node.sequence == sequence {
            // A node already replaced was released by the producer that replaced it.
            if node.pendingReaders.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                controls[cell].node.clear(ifHolding: node)
            }
        }
        consumer.nextSequence.atomic.pointee.store(sequence + 1, ordering: .releasing)
        consumer.endCommit()
        withExtendedLifetime(released) {}
        if consumer.gatesProducers { spaceFreed.wakeAll() }
    }

    /// Gives up on `consumer` (its sink will not finish) and returns what it had yet to commit,
    /// as the ring holds it now (cells already reused are left out): for counting what it never
    /// delivered. Its later commits do nothing, so what it left stays put.
    public func abandon(_ consumer: RingConsumer) -> [Element] {
        consumer.abandon()
        let end = claimedSequences
        let start = max(consumer.nextSequence.atomic.pointee.load(ordering: .acquiring), end - capacity, 0)
        var elements: [Element] = []
        for sequence in start..<max(end, start) {
            let cell = sequence & mask
            guard controls[cell].stamp.load(ordering: .acquiring) == sequence else { continue }
            if consumer.gatesProducers {
                // No producer reuses the cell before this consumer commits it, which it never will.
                if let element = contents[cell].element { elements.append(element) }
            } else if let node = controls[cell].node.load(), node.sequence == sequence {
                elements.append(node.element)
            }
        }
        return elements
    }

    /// A published cell as a gating consumer reads it (see the type's comment).
    @inlinable
    func readGated(_ cell: Int, sequence: Int) -> Element? {
        let element = contents[cell].element
        stepHook?(.reading(sequence: sequence, gating: true))
        return element
    }

    /// A published cell as a consumer that does not gate reads it: nil when it was lapped.
    @usableFromInline
    func readLapping(_ cell: Int, sequence: Int, for consumer: RingConsumer) -> Element? {
        let pause = stepHook.map { hook in { hook(.reading(sequence: sequence, gating: false)) } }
        guard let node = controls[cell].node.load(whilePinned: pause), node.sequence == sequence else {
            // Replaced by a later sequence (its stamp follows): the next look skips ahead.
            return nil
        }
        let missed = node.eventsBefore - consumer.eventsAccounted
        if missed > 0 { consumer.countDropped(missed) }
        consumer.eventsAccounted = node.eventsBefore + node.eventCount
        return node.element
    }

    /// A consumer that does not gate was overwritten at `sequence`: jump to an old sequence that
    /// is still intact, leaving an eighth of the ring as headroom. The events skipped are counted
    /// when that sequence is read (its `eventsBefore` minus what the consumer accounted for).
    @usableFromInline
    func skipAhead(_ consumer: RingConsumer, from sequence: Int) {
        let headroom = capacity / 8
        let resume = max(sequence + 1, claimedSequences - capacity + headroom)
        consumer.nextSequence.atomic.pointee.store(resume, ordering: .releasing)
    }
}
