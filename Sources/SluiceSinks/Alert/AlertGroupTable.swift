/// Every tracked alert group of one engine, each under a stable index, with the freed indices
/// reused. The engine reaches a group's state through a pointer into the table, so the per-match
/// path touches no reference counts. A slot holds a state from `add` until `remove` (which ends
/// it, freeing its memory) or `move` (which hands it to another table).
final class AlertGroupTable {
    private var states: UnsafeMutablePointer<AlertGroupState>
    private var capacity: Int
    private var used = 0
    /// Slots below `used` that hold no state.
    private var freed: [Int32] = []
    /// Each group's field values, for notifications.
    private(set) var labels: [[(field: String, value: String)]] = []

    init() {
        capacity = 16
        states = .allocate(capacity: capacity)
    }

    deinit {
        for index in liveIndices { (states + index).deinitialize(count: 1) }
        states.deallocate()
    }

    private var liveIndices: [Int] {
        let freedSet = Set(freed)
        return (0..<used).filter { !freedSet.contains(Int32($0)) }
    }

    /// A new group's index.
    func add(_ state: consuming AlertGroupState, labels groupLabels: [(field: String, value: String)]) -> Int32 {
        if let index = freed.popLast() {
            (states + Int(index)).initialize(to: state)
            labels[Int(index)] = groupLabels
            return index
        }
        if used == capacity {
            let larger = UnsafeMutablePointer<AlertGroupState>.allocate(capacity: capacity * 2)
            for index in liveIndices { (larger + index).initialize(to: (states + index).move()) }
            states.deallocate()
            states = larger
            capacity *= 2
        }
        (states + used).initialize(to: state)
        labels.append(groupLabels)
        used += 1
        return Int32(used - 1)
    }

    /// The state of group `index`; valid until the next `add` or `remove`.
    @inline(__always)
    func state(_ index: Int32) -> UnsafeMutablePointer<AlertGroupState> {
        states + Int(index)
    }

    /// Moves group `index`, with its labels, into `other`; returns its index there.
    func move(_ index: Int32, to other: AlertGroupTable) -> Int32 {
        let groupLabels = labels[Int(index)]
        labels[Int(index)] = []
        freed.append(index)
        return other.add((states + Int(index)).move(), labels: groupLabels)
    }

    /// Ends group `index`, freeing its memory.
    func remove(_ index: Int32) {
        (states + Int(index)).deinitialize(count: 1)
        labels[Int(index)] = []
        freed.append(index)
    }
}
