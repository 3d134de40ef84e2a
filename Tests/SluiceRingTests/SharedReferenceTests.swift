import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing

/// A box around a `SharedReference` for the test's threads to share.
final class SharedBox: Sendable {
    let reference = SharedReference<Counted>()
}

@Suite("SharedReference", .timeLimit(.minutes(10)), .watchdog)
struct SharedReferenceTests {
    /// Readers load while a writer replaces the object thousands of times: every reader sees
    /// versions that never go back, and every object is released exactly once (a release under
    /// a reader's pin would crash or count twice; a lost one would leave the count short).
    @Test func readersNeverSeeAReleasedObjectAndEveryObjectIsReleasedOnce() {
        let versions = 20_000
        let released = SharedCounter()
        let box = SharedBox()
        do {
            box.reference.replace(with: Counted(0, counter: released)) { _ in false }
            let wentBack = SharedCounter()
            // A bounded number of loads each, no open-ended spinning: three busy readers on a
            // shared two-core machine would starve every other test of the run.
            let readers = (0..<3).map { _ in
                TestThread {
                    var last = -1
                    for _ in 0..<versions {
                        guard let object = box.reference.load() else { continue }
                        if object.value < last { wentBack.add() }
                        last = object.value
                    }
                }
            }
            for version in 1..<versions {
                box.reference.replace(with: Counted(version, counter: released)) { _ in false }
            }
            for reader in readers { #expect(reader.join()) }
            #expect(wentBack.value == 0)
            #expect(released.value == versions - 1)
            let last = box.reference.load()
            #expect(last?.value == versions - 1)
            if let last { box.reference.clear(ifHolding: last) }
        }
        #expect(released.value == versions)
    }

    @Test func replaceKeepsWhatTheConditionKeepsAndClearEmptiesOnlyItsOwnObject() {
        let released = SharedCounter()
        let box = SharedBox()
        let first = Counted(5, counter: released)
        let put = box.reference.replace(with: first) { _ in false }
        let putOlder = box.reference.replace(with: Counted(3, counter: released)) { $0.value > 3 }
        let clearedOther = box.reference.clear(ifHolding: Counted(9, counter: released))
        let clearedOwn = box.reference.clear(ifHolding: first)
        let left = box.reference.load()
        #expect(put && !putOlder && !clearedOther && clearedOwn)
        #expect(released.value == 2)
        #expect(left == nil)
    }
}
