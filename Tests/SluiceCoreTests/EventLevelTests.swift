import Testing
import SluiceTesting

@testable import SluiceCore

@Suite(.timeLimit(.minutes(10)), .watchdog) struct EventLevelTests {
    @Test(arguments: [
        ("INFO", EventLevel.info), ("Warning", .warn), ("WARN", .warn), ("err", .error), ("ERROR", .error),
        ("crit", .fatal), ("CRITICAL", .fatal), ("emerg", .fatal), ("panic", .fatal), ("dbg", .debug),
        ("trace", .trace), ("notice", .info), ("fatal", .fatal), ("verbose", .trace),
    ])
    func recognisesCommonSpellings(_ word: String, _ level: EventLevel) {
        #expect(EventLevel(name: word) == level)
    }

    @Test func unknownWordsAreNotLevels() {
        #expect(EventLevel(name: "banana") == nil)
        #expect(EventLevel(name: "") == nil)
        #expect(EventLevel(name: "an extremely long word") == nil)
    }

    @Test func bunyanAndSyslogNumbers() {
        #expect([10, 20, 30, 40, 50, 60].map(EventLevel.fromBunyan) == [.trace, .debug, .info, .warn, .error, .fatal])
        #expect([0, 3, 4, 6, 7].map(EventLevel.fromSyslogSeverity) == [.fatal, .error, .warn, .info, .debug])
    }

    @Test func levelsAreOrdered() {
        #expect(EventLevel.trace < .debug && .debug < .info && .info < .warn && .warn < .error && .error < .fatal)
    }
}
