/// The stream sequences of the latest messages a reader published, `capacity` at most, oldest
/// forgotten first.
///
/// A JetStream acknowledgement is fire-and-forget: one in flight while the consumer's leader
/// changes hands is lost, and the server delivers the message again after `ack_wait`, to a
/// reader that already has its events. Remembering what it published lets the reader
/// acknowledge such a message again instead of publishing its events twice.
struct RecentSequences {
    let capacity: Int
    private var members: Set<UInt64> = []
    private var order: [UInt64] = []
    private var oldest = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        members.reserveCapacity(min(self.capacity, 1 << 16))
    }

    func contains(_ sequence: UInt64) -> Bool { members.contains(sequence) }

    /// Remembers `sequence`, forgetting the oldest when full.
    mutating func insert(_ sequence: UInt64) {
        guard members.insert(sequence).inserted else { return }
        if order.count < capacity {
            order.append(sequence)
            return
        }
        members.remove(order[oldest])
        order[oldest] = sequence
        oldest = (oldest + 1) % capacity
    }
}
