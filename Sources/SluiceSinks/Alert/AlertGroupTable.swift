/// Every tracked alert group of one engine, each under a stable index, with the freed indices
/// reused. The engine reaches a group's state through a pointer into the table, so the per-match
/// path touches no reference counts.
final class AlertGroupTable {
    private var states: UnsafeMutablePointer<AlertGroupState>
    private var capacity: Int
    private var used = 0
    private var freed: [Int32] = []
    /// Each group's field values, for notifications.
    private(set) var labels: [[(field: String, value: String)]] = []

    init() {
        capacity = 16
        states = .allocate(capacity: capacity)
    }

    deinit {
        let freedSet = Set(freed)
        for index in 0..<used where !freedSet.contains(Int32(index)) { states[index].deallocate() }
        states.deinitialize(count: used)
        states.deallocate()
    }

    /// A new group's index.
    func add(_ state: AlertGroupState, labels groupLabels: [(field: String, value: String)]) -> Int32 {
        if let index = freed.popLast() {
            states[Int(index)] = state
            labels[Int(index)] = groupLabels
            return index
        }
        if used == capacity {
            let larger = UnsafeMutablePointer<AlertGroupState>.allocate(capacity: capacity * 2)
            larger.moveInitialize(from: states, count: used)
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

    /// Moves group `index` out, its memory now the caller's (to add to another table).
    func take(_ index: Int32) -> (state: AlertGroupState, labels: [(field: String, value: String)]) {
        let taken = (states[Int(index)], labels[Int(index)])
        labels[Int(index)] = []
        freed.append(index)
        return taken
    }

    func remove(_ index: Int32) {
        states[Int(index)].deallocate()
        labels[Int(index)] = []
        freed.append(index)
    }
}
