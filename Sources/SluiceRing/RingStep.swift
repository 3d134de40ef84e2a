/// The points of the ring's protocol where a test may stall a thread (`EventRing`'s
/// `stepHook`), to show that no thread stopped anywhere holds up the threads that do not need
/// what it is doing.
public enum RingStep: Sendable, Equatable {
    /// A producer has claimed `sequence` and not yet written it.
    case claimed(sequence: Int)
    /// A producer has written `sequence`'s element and not yet published its stamp.
    case writing(sequence: Int)
    /// A consumer that gates has copied `sequence`'s element, or one that does not gate holds
    /// it pinned.
    case reading(sequence: Int, gating: Bool)
    /// A consumer is committing `sequence` and has not yet moved its cursor.
    case committing(sequence: Int, gating: Bool)
}
