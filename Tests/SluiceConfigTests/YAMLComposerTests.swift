import Testing
import SluiceTesting

@testable import SluiceConfig

/// The configuration reader's YAML, on libyaml: what a document becomes, and what it refuses.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct YAMLComposerTests {
    private func parse(_ yaml: String) -> Result<ConfigNode, ConfigIssue> {
        YAMLLoader.parse(yaml, file: "test.yaml")
    }
}

private extension ConfigNode {
    var scalarText: String? {
        if case .scalar(let text, _) = self { return text }
        return nil
    }
}

extension YAMLComposerTests {
    @Test func scalarsStayTheTextWrittenAndOnlyPlainNullsAreNull() throws {
        let root = try parse("a: 010\nb: yes\nc: ~\nd: \"null\"\ne:\nf: 'x: y'\ng: |\n  one\n  two\n").get()
        #expect(root["a"]?.scalarText == "010")
        #expect(root["b"]?.scalarText == "yes")
        guard case .null = root["c"] else { Issue.record("c: \(String(describing: root["c"]))"); return }
        #expect(root["d"]?.scalarText == "null")
        guard case .null = root["e"] else { Issue.record("e: \(String(describing: root["e"]))"); return }
        #expect(root["f"]?.scalarText == "x: y")
        #expect(root["g"]?.scalarText == "one\ntwo\n")
        #expect(root.entries?.map(\.key) == ["a", "b", "c", "d", "e", "f", "g"], "maps keep their order")
        let keys = try parse("null: 1\n~: 2\ntrue: 3\n\"q\": 4\n").get()
        #expect(keys.entries?.map(\.key) == ["null", "~", "true", "q"], "a key is its text")
    }

    @Test func nodesRememberTheirLine() throws {
        let root = try parse("sources:\n  app:\n    type: stdin\n").get()
        #expect(root["sources"]?["app"]?["type"]?.origin == ConfigOrigin(file: "test.yaml", line: 3))
    }

    @Test func anchorsAreExpandedWhereAliasesUseThem() throws {
        let root = try parse("base: &b { type: console, level: info }\nsinks: { one: *b, two: *b }\n").get()
        #expect(root["sinks"]?["two"]?["level"]?.scalarText == "info")
    }

    @Test func whatTheReaderRefusesIsNamedWithFileAndLine() {
        let cases: [(yaml: String, expected: String)] = [
            ("a: *missing\n", "test.yaml:1:4: YAML syntax error: found undefined alias missing"),
            ("a: 1\n---\nb: 2\n", "test.yaml:2:1: YAML syntax error: expected a single document"),
            ("a: [1, 2\nb: 3\n", "test.yaml:"),
            ("a: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n", "nested more than 64 deep"),
            ("[1, 2]\n", "the top level of test.yaml must be a map"),
            ("? [a]\n: b\n", "map keys must be plain text"),
        ]
        for (yaml, expected) in cases {
            guard case .failure(let issue) = parse(yaml) else {
                Issue.record("accepted: \(yaml.prefix(40))")
                continue
            }
            #expect(issue.description.contains(expected), "\(issue.description.prefix(300))")
        }
    }

    @Test func anEmptyDocumentIsAnEmptyMap() throws {
        for yaml in ["", "# only a comment\n", "---\n", "~\n"] {
            guard case .map(let entries, _) = try parse(yaml).get() else { Issue.record("\(yaml)"); continue }
            #expect(entries.isEmpty)
        }
    }
}
