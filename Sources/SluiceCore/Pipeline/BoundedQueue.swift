import SluiceSync

/// A first-in-first-out queue of at most `capacity` elements between threads: producers either
/// wait for room (`put`) or are refused (`offer`), consumers park until an element arrives or
/// the queue is closed. The hand-offs between a sink's ring reader and its writer, and from a
/// sink to its compression or delivery workers, are all this queue.
///
/// `@unchecked Sendable`: the elements and the closed flag are only touched under `lock`; an
/// element belongs to the producer before `put`/`offer` and to the one consumer that takes it.
public final class BoundedQueue<Element>: @unchecked Sendable {
    public enum Taken {
        /// The oldest element; `isLast` when the queue is empty after it.
        case element(Element, isLast: Bool)
        /// Closed and drained: nothing more will come.
        case closed
        /// The deadline passed with the queue empty.
        case timedOut
    }

    public let capacity: Int
    private var elements: [Element] = []
    private var closed = false
    private let lock = ConditionLock()

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues `element` if there is room; never waits.
    public func offer(_ element: Element) -> Bool {
        lock.withLock {
            guard elements.count < capacity else { return false }
            elements.append(element)
            lock.broadcast()
            return true
        }
    }

    /// Queues `element`, waiting while the queue is full.
    public func put(_ element: Element) {
        lock.withLock {
            while elements.count >= capacity { _ = lock.wait(deadlineNanoseconds: nil) }
            elements.append(element)
            lock.broadcast()
        }
    }

    /// The oldest element, waiting for one until the monotonic deadline (nil: no deadline).
    /// Elements queued before `close` are still taken.
    public func take(deadlineNanoseconds: UInt64? = nil) -> Taken {
        lock.withLock {
            while elements.isEmpty {
                if closed { return .closed }
                if !lock.wait(deadlineNanoseconds: deadlineNanoseconds) { return .timedOut }
            }
            let element = elements.removeFirst()
            lock.broadcast()
            return .element(element, isLast: elements.isEmpty)
        }
    }

    /// The oldest element, waiting as long as it takes; nil once closed and drained.
    public func take() -> Element? {
        guard case .element(let element, _) = take(deadlineNanoseconds: nil) else { return nil }
        return element
    }

    /// No more elements will be queued; consumers drain what is left, then see `closed`.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }
}
