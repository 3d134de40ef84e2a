import Synchronization

/// An object a `SharedReference` can hold. It carries the count that lets readers who were
/// still pinning it when it was taken out of the slot finish without a lock (see
/// `SharedReference`). An object is held by at most one slot at a time.
open class PinCounted: @unchecked Sendable {
    /// Pins that were on the slot when this object was taken out, minus the readers that have
    /// since finished. Whoever brings it to zero releases the slot's reference.
    let departedPins = Atomic<Int>(0)

    public init() {}
}

/// A strong reference that readers load while writers replace it, with no lock and no waiting
/// on either side: the split reference count of lock-free stacks, for one slot.
///
/// The slot's word holds the object's address, retained once by the slot, and the number of
/// readers pinning it now. A reader pins (a compare-and-swap adding one), retains the object for
/// itself, and unpins. A writer swaps the whole word in one compare-and-swap, so it takes the old
/// object out together with its pin count: readers still pinning it can no longer unpin in the
/// word, so the writer moves the count to the object (`departedPins += pins`) and each of those
/// readers, finding the word changed, subtracts one there. Whoever brings that count to zero,
/// the writer when nobody was pinning, else the last reader out, releases the slot's reference.
///
/// Why this is safe: the slot's reference is released only when no reader is between its pin
/// and its unpin, and a reader retains its own reference inside that window; so no reader ever
/// retains an object already released. An object's address cannot be reused while any reader
/// still compares against it, because that reader's pin (or the reference it retained) keeps it
/// alive: comparing addresses is free of ABA.
///
/// `@unchecked Sendable`: its only state is an atomic word, and the objects it hands out are
/// `PinCounted`, which are `Sendable`.
public struct SharedReference<Object: PinCounted>: ~Copyable, @unchecked Sendable {
    private let word = Atomic<WordPair>(WordPair(first: 0, second: 0))

    public init() {}

    deinit {
        let held = word.load(ordering: .acquiring)
        if held.first != 0 { Self.unmanaged(held.first).release() }
    }

    /// The object held now, retained for the caller; nil when the slot is empty. `whilePinned`
    /// runs after the retain and before the unpin (a test's stall).
    public func load(whilePinned: (() -> Void)? = nil) -> Object? {
        var current = word.load(ordering: .relaxed)
        while true {
            guard current.first != 0 else { return nil }
            let pinned = WordPair(first: current.first, second: current.second &+ 1)
            let attempt = word.compareExchange(expected: current, desired: pinned, ordering: .acquiringAndReleasing)
            if attempt.exchanged { break }
            current = attempt.original
        }
        let object = Self.unmanaged(current.first).takeUnretainedValue()
        whilePinned?()
        unpin(current.first)
        return object
    }

    /// Puts `object` in the slot unless `keep(held)` says the object held now must stay.
    /// Returns whether it was put in.
    @discardableResult
    public func replace(with object: Object, unless keep: (Object) -> Bool) -> Bool {
        let newAddress = Self.retainedAddress(object)
        while true {
            let held = load()
            if let held, keep(held) {
                Self.unmanaged(newAddress).release()
                return false
            }
            let heldAddress = held.map { Self.address(of: $0) } ?? 0
            // `held` stays retained until here, so its address cannot come back meanwhile.
            let swapped = withExtendedLifetime(held) { () -> Bool in
                var current = word.load(ordering: .relaxed)
                while current.first == heldAddress {
                    let desired = WordPair(first: newAddress, second: 0)
                    let attempt = word.compareExchange(expected: current, desired: desired, ordering: .acquiringAndReleasing)
                    if attempt.exchanged {
                        takeOut(current)
                        return true
                    }
                    current = attempt.original
                }
                return false
            }
            if swapped { return true }
        }
    }

    /// Empties the slot if it holds `object`; false when it holds another one (or none).
    @discardableResult
    public func clear(ifHolding object: Object) -> Bool {
        let address = Self.address(of: object)
        var current = word.load(ordering: .relaxed)
        while current.first == address {
            let attempt = word.compareExchange(expected: current, desired: WordPair(first: 0, second: 0), ordering: .acquiringAndReleasing)
            if attempt.exchanged {
                takeOut(current)
                return true
            }
            current = attempt.original
        }
        return false
    }

    /// Ends a pin on the object at `address`: in the word while it is still there, on the object
    /// once a writer has taken it out.
    private func unpin(_ address: UInt) {
        var current = word.load(ordering: .relaxed)
        while current.first == address {
            let unpinned = WordPair(first: address, second: current.second &- 1)
            let attempt = word.compareExchange(expected: current, desired: unpinned, ordering: .acquiringAndReleasing)
            if attempt.exchanged { return }
            current = attempt.original
        }
        settle(Self.unmanaged(address), departing: -1)
    }

    /// What a writer does with the word it swapped out: hands its pins to the object.
    private func takeOut(_ old: WordPair) {
        guard old.first != 0 else { return }
        settle(Self.unmanaged(old.first), departing: Int(bitPattern: old.second))
    }

    /// Adds to the object's departed pins and releases the slot's reference at zero.
    private func settle(_ object: Unmanaged<Object>, departing pins: Int) {
        let remaining = object._withUnsafeGuaranteedRef { $0.departedPins.add(pins, ordering: .acquiringAndReleasing).newValue }
        if remaining == 0 { object.release() }
    }

    private static func unmanaged(_ address: UInt) -> Unmanaged<Object> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: address)!)
    }

    private static func address(of object: Object) -> UInt {
        UInt(bitPattern: Unmanaged.passUnretained(object).toOpaque())
    }

    private static func retainedAddress(_ object: Object) -> UInt {
        UInt(bitPattern: Unmanaged.passRetained(object).toOpaque())
    }
}
