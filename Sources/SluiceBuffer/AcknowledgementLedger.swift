/// A disk buffer's bookkeeping of what the sink holds: the records handed out and not yet
/// settled, those given back (to hand out again before anything new), and the position, the
/// first record not yet acknowledged, below which the buffer may let its files go.
///
/// A value with no lock and no file of its own: `DiskBuffer` keeps it under its lock and does
/// the I/O around it, so every rule about acknowledgements is here and tested alone.
struct AcknowledgementLedger {
    /// A record handed to the sink: what it holds and where it lies.
    struct HandedOut: Equatable {
        var events: Int
        var appendedAt: Int64
        var segmentFirstSequence: UInt64
        var offset: Int
    }

    private(set) var outstanding: [UInt64: HandedOut] = [:]
    private(set) var givenBack: [UInt64: HandedOut] = [:]
    /// The first record not yet acknowledged.
    private(set) var position: UInt64

    init(position: UInt64 = 0) {
        self.position = position
    }

    /// Nothing is with the sink and nothing waits to be handed out again.
    var isSettled: Bool { outstanding.isEmpty && givenBack.isEmpty }

    var hasGivenBack: Bool { !givenBack.isEmpty }

    /// When the oldest record the sink holds or gave back was appended.
    var oldestAppendedAt: Int64? {
        (outstanding.values.map(\.appendedAt) + givenBack.values.map(\.appendedAt)).min()
    }

    mutating func handOut(_ sequence: UInt64, _ record: HandedOut) {
        outstanding[sequence] = record
    }

    /// The sink acknowledged `sequence`: its record, or nil when it was not handed out.
    mutating func acknowledge(_ sequence: UInt64) -> HandedOut? {
        outstanding.removeValue(forKey: sequence)
    }

    /// The sink gave `sequence` back unsettled: kept to be handed out again, when its segment
    /// is still there. Returns the record (nil when it was not handed out).
    mutating func giveBack(_ sequence: UInt64, segmentExists: (UInt64) -> Bool) -> (record: HandedOut, kept: Bool)? {
        guard let record = outstanding.removeValue(forKey: sequence) else { return nil }
        let kept = segmentExists(record.segmentFirstSequence)
        if kept { givenBack[sequence] = record }
        return (record, kept)
    }

    /// The record given back first (the lowest sequence), to hand out again.
    var firstGivenBack: (sequence: UInt64, record: HandedOut)? {
        guard let sequence = givenBack.keys.min(), let record = givenBack[sequence] else { return nil }
        return (sequence, record)
    }

    /// Takes `sequence` out of the given-back records (to hand it out again, or because it no
    /// longer reads); nil when it is no longer there.
    mutating func takeGivenBack(_ sequence: UInt64) -> HandedOut? {
        givenBack.removeValue(forKey: sequence)
    }

    /// An evicted segment takes the records given back from it: returns their events.
    mutating func evict(segmentFirstSequence: UInt64) -> Int {
        let evicted = givenBack.filter { $0.value.segmentFirstSequence == segmentFirstSequence }
        for sequence in evicted.keys { givenBack[sequence] = nil }
        return evicted.values.reduce(0) { $0 + $1.events }
    }

    /// Moves the position to the first record not settled, or `unread` (the next record not
    /// yet read) when that comes first. True when it moved.
    mutating func advance(unread: UInt64) -> Bool {
        let next = [outstanding.keys.min(), givenBack.keys.min(), unread].compactMap { $0 }.min()!
        guard next > position else { return false }
        position = next
        return true
    }
}
