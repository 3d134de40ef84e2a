import Synchronization

/// Where a batch's events come from, which gives every event an identity: the stream it
/// belongs to and its sequence in that stream.
///
/// A stream is one source in one run of Sluice (a random number drawn at start, mixed with the
/// source's index), or one archive file being replayed (named by its content, see
/// `sluice replay`). Sequences count a stream's events from 0. So two byte-identical lines are
/// two events with two identities, a retry of an event carries the identity it had, and a
/// restart starts new streams. Sinks that need document ids (the indexer's `_id`) derive them
/// from it; nothing per event is allocated: a batch holds one stream and its first sequence.
public struct EventOrigin: Sendable, Equatable {
    public let stream: UInt64
    private let sequences: Sequences

    private enum Sequences: Sendable, Equatable {
        /// The events at positions 0, 1, 2, ... are `first`, `first + 1`, ...
        case contiguous(first: UInt64)
        /// A subset of a stream (events filtered out, or regrouped by source).
        case listed([UInt64])
    }

    public init(stream: UInt64, firstSequence: UInt64) {
        self.stream = stream
        sequences = .contiguous(first: firstSequence)
    }

    public init(stream: UInt64, sequences: [UInt64]) {
        self.stream = stream
        self.sequences = .listed(sequences)
    }

    /// The sequence of the event at `position` in the batch.
    @inline(__always)
    public func sequence(at position: Int) -> UInt64 {
        switch sequences {
        case .contiguous(let first): first &+ UInt64(position)
        case .listed(let listed): listed[position]
        }
    }

    /// The origin of the events at `positions` (ascending) of a batch with this origin.
    package func keeping(_ positions: [Int]) -> EventOrigin {
        EventOrigin(stream: stream, sequences: positions.map(sequence(at:)))
    }

    /// A stream of its own for a batch built outside any source (tests, tools): drawn from a
    /// per-process counter, so no two such batches share one.
    static func standalone() -> EventOrigin {
        let number = standaloneStreams.add(1, ordering: .relaxed).oldValue
        return EventOrigin(stream: mix(runSeed &+ number &* 0x9E37_79B9_7F4A_7C15), firstSequence: 0)
    }

    private static let standaloneStreams = Atomic<UInt64>(0)

    /// Drawn once per process from the system's random source.
    public static let runSeed = UInt64.random(in: 0...UInt64.max)

    /// The stream of source `sourceIndex` in this run.
    public static func stream(ofSource sourceIndex: Int, seed: UInt64 = runSeed) -> UInt64 {
        mix(seed ^ (UInt64(sourceIndex) &+ 1) &* 0xC2B2_AE3D_27D4_EB4F)
    }

    /// A bijective 64-bit mix (splitmix64's finaliser): distinct inputs stay distinct.
    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }
}
