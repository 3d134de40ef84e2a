import Foundation
import Synchronization

/// A started thread that can be joined with a deadline.
final class TestThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
    }

    /// Waits for the thread to finish; false when the deadline passed first.
    func join(seconds: Double = 60) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}

/// A reference type whose release the tests can observe.
final class Tracked: Sendable {
    let value: Int
    init(_ value: Int) { self.value = value }
}

/// An integer shared between a test and its threads.
final class SharedInt: Sendable {
    private let storage: Atomic<Int>
    init(_ value: Int) { storage = Atomic(value) }
    var value: Int {
        get { storage.load(ordering: .sequentiallyConsistent) }
    }
    func set(_ value: Int) { storage.store(value, ordering: .sequentiallyConsistent) }
}
