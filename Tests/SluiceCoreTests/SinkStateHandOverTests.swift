import SluiceTesting
import Testing

@testable import SluiceCore

@Suite(.timeLimit(.minutes(10)), .watchdog) struct SinkStateHandOverTests {
    @Test func eachVersionOfASinkGetsTheSameHandOverAndTakesWhatWasLeftOnce() {
        let handOvers = SinkStateHandOvers<[String]>()
        let old = handOvers.handOver(for: "alerts")
        let new = handOvers.handOver(for: "alerts")
        #expect(old === new)
        #expect(handOvers.handOver(for: "other") !== old)
        #expect(new.take() == nil, "nothing is left before the old version finishes")
        old.leave(["window"])
        #expect(new.take() == ["window"])
        #expect(new.take() == nil, "taken once: a sink removed and added again starts afresh")
    }
}
