/// A sequence a producer has reserved and must publish (even with an empty element).
public struct RingClaim: Sendable, Equatable {
    public let sequence: Int
    public let eventCount: Int
    /// Events in every sequence claimed before this one.
    public let eventsBefore: Int

    @usableFromInline
    init(sequence: Int, eventCount: Int, eventsBefore: Int) {
        self.sequence = sequence
        self.eventCount = eventCount
        self.eventsBefore = eventsBefore
    }
}

/// What a consumer gets when it asks for its next element.
public enum RingPoll<Element> {
    /// The element at `sequence`; `endOfRun` is true when no later element is published yet,
    /// the moment for a sink to flush.
    case element(Element, sequence: Int, endOfRun: Bool)
    /// The deadline passed with nothing new.
    case timedOut
    /// The ring is closed and this consumer has read everything ever published.
    case finished
}
