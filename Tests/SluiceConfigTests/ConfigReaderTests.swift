import Testing
import SluiceTesting

@testable import SluiceConfig

private func document(_ yaml: String, file: String = "test.yaml") throws -> ConfigNode {
    try YAMLLoader.parse(yaml, file: file).get()
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct ConfigReaderTests {
    @Test func laterFilesDeepMergeOverEarlierOnes() throws {
        let base = try document("""
            sinks:
              archive: { type: archive, gzip_level: 6, rotate: { max_bytes: 1MiB, max_age: 1h } }
              console: { type: console }
            """, file: "base.yaml")
        let overlay = try document("""
            sinks:
              archive: { gzip_level: 9, rotate: { max_age: 5m } }
            """, file: "prod.yaml")
        let merged = base.merged(with: overlay)
        let archive = merged["sinks"]?["archive"]
        if case .scalar(let level, let origin) = archive?["gzip_level"] {
            #expect(level == "9")
            #expect(origin.file == "prod.yaml")
        } else {
            Issue.record("gzip_level missing")
        }
        if case .scalar(let size, _) = archive?["rotate"]?["max_bytes"] { #expect(size == "1MiB") } else { Issue.record("max_bytes lost") }
        if case .scalar(let age, _) = archive?["rotate"]?["max_age"] { #expect(age == "5m") } else { Issue.record("max_age missing") }
        #expect(merged["sinks"]?["console"] != nil)
    }

    @Test func theEnvironmentWinsOverFilesAndSaysSo() throws {
        let context = ConfigContext(environment: ["SLUICE_SINKS_ARCHIVE_GZIP_LEVEL": "3"])
        let reader = ConfigReader(root: try document("sinks: { archive: { gzip_level: 6 } }"), context: context)
        let archive = reader.section("sinks").section("archive")
        #expect(archive.int("gzip_level", default: 6, range: 1...9) == 3)
        #expect(context.issues.isEmpty)
        #expect(ConfigContext.variableName(for: ["sinks", "my-archive", "gzip_level"]) == "SLUICE_SINKS_MY_ARCHIVE_GZIP_LEVEL")
    }

    @Test func aBadEnvironmentValueNamesTheVariable() throws {
        let context = ConfigContext(environment: ["SLUICE_SINKS_ARCHIVE_GZIP_LEVEL": "eleven"])
        let reader = ConfigReader(root: try document("sinks: { archive: { gzip_level: 6 } }"), context: context)
        _ = reader.section("sinks").section("archive").int("gzip_level", default: 6, range: 1...9)
        #expect(context.issues.map(\.description) == [
            "sinks.archive.gzip_level: expected a whole number, found \"eleven\" (environment variable SLUICE_SINKS_ARCHIVE_GZIP_LEVEL)",
        ])
    }

    @Test func typeAndRangeErrorsNameTheKeyAndTheLine() throws {
        let context = ConfigContext(environment: [:])
        let yaml = """
            sinks:
              archive:
                gzip_level: 12
                flush_interval: soon
                enabled: maybe
            """
        let archive = ConfigReader(root: try document(yaml, file: "sluice.yaml"), context: context).section("sinks").section("archive")
        _ = archive.int("gzip_level", default: 6, range: 1...9)
        _ = archive.duration("flush_interval", default: 1_000_000_000)
        _ = archive.bool("enabled", default: true)
        #expect(context.issues.map(\.description) == [
            "sinks.archive.gzip_level: 12 is out of range 1...9 (sluice.yaml:3)",
            "sinks.archive.flush_interval: expected a duration such as 250ms, 5s, 1m or 1h, found \"soon\" (sluice.yaml:4)",
            "sinks.archive.enabled: expected true or false, found \"maybe\" (sluice.yaml:5)",
        ])
    }

    @Test func unknownKeysAreRejectedWithTheNearestSuggested() throws {
        let context = ConfigContext(environment: [:])
        let archive = ConfigReader(root: try document("sinks: { archive: { gzip_levle: 6 } }"), context: context).section("sinks").section("archive")
        _ = archive.int("gzip_level", default: 6, range: 1...9)
        archive.rejectUnknownKeys()
        #expect(context.issues.count == 1)
        #expect(context.issues[0].path == "sinks.archive.gzip_levle")
        #expect(context.issues[0].message.contains("did you mean \"gzip_level\""))
    }

    @Test func interpolationHappensOnReadAndNamesKeyAndVariable() throws {
        let context = ConfigContext(environment: ["ES_URL": "http://es:9200"])
        let yaml = "sinks: { search: { endpoint: \"${ES_URL}\", api_key: \"${ES_KEY}\" } }"
        let search = ConfigReader(root: try document(yaml), context: context).section("sinks").section("search")
        #expect(search.string("endpoint", default: "") == "http://es:9200")
        _ = search.secret("api_key")
        #expect(context.issues.count == 1)
        #expect(context.issues[0].path == "sinks.search.api_key")
        #expect(context.issues[0].message.contains("ES_KEY"))
    }

    @Test func aLenientReaderReadsUnsetVariablesAsEmpty() throws {
        let context = ConfigContext(environment: [:])
        let search = ConfigReader(root: try document("s: { key: \"${NOPE}\" }"), context: context).section("s").lenient()
        #expect(search.string("key", default: "x") == "")
        #expect(context.issues.isEmpty)
    }

    @Test func secretsAreRedactedInTheEffectiveConfiguration() throws {
        let context = ConfigContext(environment: ["KEY": "s3cr3t-value"])
        let search = ConfigReader(root: try document("sinks: { search: { api_key: \"${KEY}\" } }"), context: context).section("sinks").section("search")
        #expect(search.secret("api_key") == "s3cr3t-value")
        let rendered = context.effective.render()
        #expect(!rendered.contains("s3cr3t-value"))
        #expect(rendered.contains("api_key: <redacted>"))
        #expect(context.secrets.contains("s3cr3t-value"))
    }

    @Test func listsComeFromYAMLOrCommaSeparatedEnvironment() throws {
        let fromFile = ConfigContext(environment: [:])
        let reader = ConfigReader(root: try document("s: { inputs: [a, b] }"), context: fromFile).section("s")
        #expect(reader.stringList("inputs") == ["a", "b"])
        let fromEnvironment = ConfigContext(environment: ["SLUICE_S_INPUTS": "x, y"])
        #expect(ConfigReader(root: try document("s: {}"), context: fromEnvironment).section("s").stringList("inputs") == ["x", "y"])
    }

    @Test func choicesSuggestTheNearestWord() throws {
        enum Policy: String, CaseIterable { case block, dropOldest = "drop_oldest", dropNewest = "drop_newest" }
        let context = ConfigContext(environment: [:])
        let reader = ConfigReader(root: try document("s: { when_full: drop_olderst }"), context: context).section("s")
        #expect(reader.choice("when_full", default: Policy.block) == .block)
        #expect(context.issues.first?.message.contains("did you mean \"drop_oldest\"") == true)
    }

    @Test func unusedSluiceVariablesAreReported() throws {
        let context = ConfigContext(environment: ["SLUICE_SINKS_ARCHIVE_GZIP_LEVLE": "3", "SLUICE_LOG_LEVEL": "debug", "OTHER": "x"])
        let archive = ConfigReader(root: try document("sinks: { archive: {} }"), context: context).section("sinks").section("archive")
        _ = archive.int("gzip_level", default: 6, range: 1...9)
        context.reportUnusedVariables()
        #expect(context.issues.count == 1)
        #expect(context.issues[0].path == "SLUICE_SINKS_ARCHIVE_GZIP_LEVLE")
        #expect(context.issues[0].message.contains("SLUICE_SINKS_ARCHIVE_GZIP_LEVEL"))
    }

    @Test func yamlSyntaxErrorsNameTheFile() {
        guard case .failure(let issue) = YAMLLoader.parse("sinks: [unclosed", file: "broken.yaml") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(issue.message.contains("broken.yaml"))
    }
}
