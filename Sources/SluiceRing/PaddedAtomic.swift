public import Synchronization

/// An `Atomic` alone in its own 128-byte block.
///
/// Sequences written by different threads (a consumer's cursor, the producers' claim cursor)
/// must not share a cache line, or every write by one thread invalidates the line the other is
/// reading. 128 bytes also covers the adjacent-line prefetcher of x86 parts.
@usableFromInline
struct PaddedAtomic<Value: AtomicRepresentable>: ~Copyable {
    private static var blockBytes: Int { 128 }
    private let raw: UnsafeMutableRawPointer
    /// The padded atomic: `counter.atomic.pointee.load(ordering:)`.
    @usableFromInline let atomic: UnsafeMutablePointer<Atomic<Value>>

    init(_ initialValue: Value) {
        raw = UnsafeMutableRawPointer.allocate(byteCount: Self.blockBytes, alignment: Self.blockBytes)
        atomic = raw.bindMemory(to: Atomic<Value>.self, capacity: 1)
        atomic.initialize(to: Atomic(initialValue))
    }

    deinit {
        atomic.deinitialize(count: 1)
        raw.deallocate()
    }
}
