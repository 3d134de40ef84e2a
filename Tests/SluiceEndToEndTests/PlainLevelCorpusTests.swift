import Foundation
import Glibc
import SluiceTesting
import Testing

/// The plain-text level guesser against a labelled corpus of real-format lines
/// (`Tests/Corpus/PlainLevels`: nginx, PostgreSQL, uWSGI, syslog, Python logging, Go's log,
/// java.util.logging, logback/log4j patterns, gcc and coreutils, exception lines, prose), run
/// through the binary as a pipe with the built-in defaults (so `auto` multiline is on too).
/// A level is only worth giving when it is right: precision per level at least 0.99.
@Suite("plain-text levels against a labelled corpus", .timeLimit(.minutes(10)), .watchdog)
struct PlainLevelCorpusTests {
    static let levels = ["trace", "debug", "info", "warn", "error", "fatal"]

    static func corpus() throws -> [(label: String, line: String)] {
        let path = String(#filePath.split(separator: "/Tests/").first ?? "") + "/Tests/Corpus/PlainLevels/plain-levels.tsv"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { row in
            guard !row.hasPrefix("#"), let tab = row.firstIndex(of: "\t") else { return nil }
            return (String(row[..<tab]), String(row[row.index(after: tab)...]))
        }
    }

    @Test func everyLevelGivenIsRightNinetyNineTimesInAHundredAndNoLinesAreJoined() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 2_000)
        let directory = TemporaryDirectory()
        let input = directory.write("corpus.log", corpus.map(\.line).joined(separator: "\n") + "\n")
        let sluice = try SluiceBinary.launch([], stdin: .file(input))
        #expect(sluice.wait(seconds: 120).exitStatus == 0)
        let output = events(sluice.standardOutputLines)
        // One event per line: no two lines joined (auto multiline) and none split.
        #expect(output.count == corpus.count, "\(output.count) events for \(corpus.count) lines")
        let messages = output.compactMap { $0["message"] as? String }
        let joined = messages.filter { $0.contains("\n") }
        #expect(joined.isEmpty, "\(joined.count) false joins, first: \(joined.prefix(3))")
        guard output.count == corpus.count else { return }

        var predicted: [String: Int] = [:], labelled: [String: Int] = [:], correct: [String: Int] = [:]
        var wrong: [String] = []
        for (event, entry) in zip(output, corpus) {
            let level = event["level"] as? String ?? "none"
            labelled[entry.label, default: 0] += 1
            predicted[level, default: 0] += 1
            if level == entry.label {
                correct[level, default: 0] += 1
            } else if level != "none" {
                wrong.append("\(level) for \(entry.label): \(entry.line.prefix(120))")
            }
        }
        var report = "level    labelled  given  right  precision  recall\n"
        for level in Self.levels {
            let given = predicted[level] ?? 0, right = correct[level] ?? 0, total = labelled[level] ?? 0
            let precision = given == 0 ? 1 : Double(right) / Double(given)
            let recall = total == 0 ? 1 : Double(right) / Double(total)
            report += "\(level.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%8d %6d %6d %10.3f %7.3f", total, given, right, precision, recall))\n"
            #expect(precision >= 0.99, "\(level): precision \(precision)")
        }
        let givenAny = Self.levels.reduce(0) { $0 + (predicted[$1] ?? 0) }
        let rightAny = Self.levels.reduce(0) { $0 + (correct[$1] ?? 0) }
        let labelledAny = Self.levels.reduce(0) { $0 + (labelled[$1] ?? 0) }
        report += "all      \(String(format: "%8d %6d %6d %10.3f %7.3f", labelledAny, givenAny, rightAny, Double(rightAny) / Double(max(givenAny, 1)), Double(rightAny) / Double(max(labelledAny, 1))))\n"
        report += "none     \(String(format: "%8d %6d", labelled["none"] ?? 0, predicted["none"] ?? 0)) (lines the format gives no level, and lines given none)\n"
        print("plain-text levels, \(corpus.count) lines of Tests/Corpus/PlainLevels:\n" + report)
        // What is found must stay found: a floor well under today's recall (see the report).
        #expect(Double(rightAny) / Double(labelledAny) >= 0.95, "recall \(Double(rightAny) / Double(labelledAny))")
        #expect(wrong.count <= givenAny / 100, "\(wrong.count) wrong levels, first: \(wrong.prefix(10))")
    }
}
