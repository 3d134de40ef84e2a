import Testing
import SluiceTesting

@testable import SluiceConfig

private func expand(_ text: String, _ environment: [String: String] = [:]) -> Result<String, Interpolation.Failure> {
    Interpolation.expand(text, environment: environment)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct InterpolationTests {
    let environment = ["HOST": "db", "EMPTY": "", "PORT": "5432"]

    @Test func substitutesVariables() throws {
        #expect(try expand("${HOST}:${PORT}", environment).get() == "db:5432")
    }

    @Test func defaultsApplyToUnsetAndEmptyWithAColon() throws {
        #expect(try expand("${MISSING:-x}", environment).get() == "x")
        #expect(try expand("${EMPTY:-x}", environment).get() == "x")
        #expect(try expand("${EMPTY-x}", environment).get() == "")
        #expect(try expand("${MISSING-x}", environment).get() == "x")
        #expect(try expand("${URL:-http://127.0.0.1:9200}", environment).get() == "http://127.0.0.1:9200")
    }

    @Test func aRequiredVariableFailsWithItsMessage() {
        #expect(expand("${MISSING:?set the endpoint}", environment) == .failure(.init(variable: "MISSING", message: "set the endpoint")))
        #expect(expand("${EMPTY:?needed}", environment) == .failure(.init(variable: "EMPTY", message: "needed")))
    }

    @Test func anUnsetVariableWithoutDefaultIsAnError() {
        guard case .failure(let failure) = expand("${NOPE}", environment) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.variable == "NOPE")
        #expect(failure.message.contains("not set"))
    }

    @Test func dollarsThatAreNotReferencesSurvive() throws {
        #expect(try expand("cost $$5 and $1 and $", environment).get() == "cost $5 and $1 and $")
        #expect(try expand("s/(a)/$$1/", environment).get() == "s/(a)/$1/")
        #expect(try expand("no dollars", environment).get() == "no dollars")
    }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct UnitsTests {
    @Test func durations() {
        #expect(Units.parseDuration("250ms") == 250_000_000)
        #expect(Units.parseDuration("5s") == 5_000_000_000)
        #expect(Units.parseDuration("1m") == 60_000_000_000)
        #expect(Units.parseDuration("1h") == 3_600_000_000_000)
        #expect(Units.parseDuration("7d") == 604_800_000_000_000)
        #expect(Units.parseDuration("1.5s") == 1_500_000_000)
        #expect(Units.parseDuration("0") == 0)
        #expect(Units.parseDuration("5") == nil)
        #expect(Units.parseDuration("fast") == nil)
        #expect(Units.parseDuration("-1s") == nil)
        #expect(Units.formatDuration(1_500_000_000) == "1500ms")
        #expect(Units.formatDuration(3_600_000_000_000) == "1h")
    }

    @Test func sizes() {
        #expect(Units.parseSize("64KiB") == 65_536)
        #expect(Units.parseSize("10MiB") == 10_485_760)
        #expect(Units.parseSize("1GiB") == 1_073_741_824)
        #expect(Units.parseSize("5MB") == 5_000_000)
        #expect(Units.parseSize("4096") == 4096)
        #expect(Units.parseSize("1.5KiB") == 1536)
        #expect(Units.parseSize("lots") == nil)
        #expect(Units.formatSize(1 << 20) == "1MiB")
        #expect(Units.formatSize(1000) == "1000B")
    }

    @Test func nearestKeySuggestsLikelyMisspellings() {
        #expect(NearestKey.suggestion(for: "gzip_levle", among: ["gzip_level", "path"]) == "gzip_level")
        #expect(NearestKey.suggestion(for: "inptus", among: ["inputs", "where"]) == "inputs")
        #expect(NearestKey.suggestion(for: "banana", among: ["inputs", "where"]) == nil)
    }
}
