#if canImport(Glibc)
import Glibc
#endif

/// The tap clients subscribed now, behind a reader-writer lock: the threads offering events read
/// it at once, each with a try that never waits (`pthread_rwlock_tryrdlock`, which only fails
/// while a client is being added or removed); adding and removing take the write side.
final class TapSubscriberList: @unchecked Sendable {
    // @unchecked: `subscriptions` is read under the read side and written under the write side.
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    private var subscriptions: [TapSubscription] = []

    init() {
        rwlock = .allocate(capacity: 1)
        pthread_rwlock_init(rwlock, nil)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    /// The subscriptions, or nil when a writer holds the list right now.
    func readIfAvailable() -> [TapSubscription]? {
        guard pthread_rwlock_tryrdlock(rwlock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(rwlock) }
        return subscriptions
    }

    func change(_ body: (inout [TapSubscription]) -> Void) {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        body(&subscriptions)
    }
}
