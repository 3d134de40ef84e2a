import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The descriptors Sluice's inputs may hold, all together: connections of the listening
/// sources (`tcp`, `unix`, `otlp`) and a `file` source's open files. It is the process's limit
/// (`RLIMIT_NOFILE`, as raised at start) less a reserve (a tenth, at least 128, at most half)
/// for everything else Sluice opens (sinks' files and sockets, pipes, event loops) and for `/metrics` and
/// `/healthz`, which never count against it: so however many clients connect, Sluice can still
/// write, and answer its probes. A stream source at the budget leaves new clients in the
/// backlog, the HTTP listener closes a new connection at once, and a file source leaves a
/// file closed until another is.
public final class DescriptorBudget: Sendable {
    public let capacity: Int
    private let held = Atomic<Int>(0)

    /// The process's budget, taken from its descriptor limit at first use (after start-up has
    /// raised it).
    public static let shared = DescriptorBudget(capacity: DescriptorBudget.capacityFromLimit())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var inUse: Int { held.load(ordering: .relaxed) }

    /// Takes one descriptor's place if there is room.
    public func acquire() -> Bool {
        guard held.add(1, ordering: .relaxed).newValue <= capacity else {
            held.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    public func release() {
        held.subtract(1, ordering: .relaxed)
    }

    static func capacityFromLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 << 20 }
        let current = UInt64(limit.rlim_cur)
        let total = Int(min(current, UInt64(1 << 20)))
        // Under a small limit (a test's `ulimit -n 48`) the reserve is half of it.
        return total - min(max(128, total / 10), total / 2)
    }
}
