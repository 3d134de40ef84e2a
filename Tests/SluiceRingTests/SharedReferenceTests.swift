import Synchronization
import Testing
import SluiceTesting

@testable import SluiceRing

/// An object a `SharedReference` holds, counting its own release.
final class Versioned: PinCounted, @unchecked Sendable {
    let version: Int
    private let counter: SharedCounter

    init(_ version: Int, counter: SharedCounter) {
        self.version = version
        self.counter = counter
    }

    deinit { counter.add() }
}

/// A box around a `SharedReference` for the test's threads to share.
final class SharedBox: Sendable {
    let reference = SharedReference<Versioned>()
}

@Suite("SharedReference", .timeLimit(.minutes(2)), .watchdog)
struct SharedReferenceTests {
    /// Readers load while a writer replaces the object thousands of times: every reader sees
    /// versions that never go back, and every object is released exactly once (a release under
    /// a reader's pin would crash or count twice; a lost one would leave the count short).
    @Test func readersNeverSeeAReleasedObjectAndEveryObjectIsReleasedOnce() {
        let versions = 20_000
        let released = SharedCounter()
        let box = SharedBox()
        do {
            box.reference.replace(with: Versioned(0, counter: released)) { _ in false }
            let stop = Atomic<Bool>(false)
            let wentBack = SharedCounter()
            let readers = (0..<3).map { _ in
                TestThread {
                    var last = -1
                    while !stop.load(ordering: .relaxed) {
                        guard let object = box.reference.load() else { continue }
                        if object.version < last { wentBack.add() }
                        last = object.version
                    }
                }
            }
            for version in 1..<versions {
                box.reference.replace(with: Versioned(version, counter: released)) { _ in false }
            }
            stop.store(true, ordering: .relaxed)
            for reader in readers { #expect(reader.join()) }
            #expect(wentBack.value == 0)
            #expect(released.value == versions - 1)
            let last = box.reference.load()
            #expect(last?.version == versions - 1)
            if let last { box.reference.clear(ifHolding: last) }
        }
        #expect(released.value == versions)
    }

    @Test func replaceKeepsWhatTheConditionKeepsAndClearEmptiesOnlyItsOwnObject() {
        let released = SharedCounter()
        let box = SharedBox()
        let first = Versioned(5, counter: released)
        let put = box.reference.replace(with: first) { _ in false }
        let putOlder = box.reference.replace(with: Versioned(3, counter: released)) { $0.version > 3 }
        let clearedOther = box.reference.clear(ifHolding: Versioned(9, counter: released))
        let clearedOwn = box.reference.clear(ifHolding: first)
        let left = box.reference.load()
        #expect(put && !putOlder && !clearedOther && clearedOwn)
        #expect(released.value == 2)
        #expect(left == nil)
    }
}
