#if canImport(Glibc)
import Glibc
#endif

enum ProcessLimits {
    /// Raises the soft limit on open descriptors to the hard limit (capped at 1 Mi): every
    /// socket client is a descriptor, and the common soft default of 1024 would refuse a
    /// sidecar's thousand writers long before memory or `max_connections` matter. Returns the
    /// limit in force.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        let wanted = min(limit.rlim_max, 1 << 20)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(wanted) }
        }
        return Int(limit.rlim_cur)
    }
}
