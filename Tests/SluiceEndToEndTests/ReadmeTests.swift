import Foundation
import SluiceTesting
import Testing

/// The README shows what runs: every `console` block's commands are run (with the `sluice` under
/// test first in `PATH`) and print what it shows, timestamps, host and memory figures aside;
/// every `yaml` block is a configuration that `sluice validate` accepts (a fragment over a stdin
/// source) or, as `tests:`, a cases file. A block whose first line is `# NAME.yaml` is also
/// written to that file, where the commands run. The build and test commands of "Two commands"
/// are run by `.ci/run` itself.
@Suite("the README's commands and configurations", .timeLimit(.minutes(10)), .watchdog)
struct ReadmeTests {
    let directory = TemporaryDirectory()
    private static let root = String(#filePath.split(separator: "/Tests/").first ?? "")

    private struct Block {
        var language: String
        var lines: [String]
        var line: Int
    }

    private var blocks: [Block] {
        get throws {
            let text = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
            var blocks: [Block] = []
            var open: Block?
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.hasPrefix("```") {
                    if let block = open {
                        blocks.append(block)
                        open = nil
                    } else {
                        open = Block(language: String(line.dropFirst(3)), lines: [], line: number + 1)
                    }
                } else {
                    open?.lines.append(String(line))
                }
            }
            return blocks
        }
    }

    /// Every `${VAR}` of the README's configurations, given a value.
    private var environment: [String: String] {
        var environment = SluiceBinary.environment([
            "ELASTICSEARCH_URL": "https://es.example:9200", "SLUICE_DATA_DIR": directory.path + "/data",
        ])
        environment["SLUICE_METRICS_ADDRESS"] = nil
        environment["PATH"] = String(SluiceBinary.path.split(separator: "/").dropLast().joined(separator: "/")).withLeadingSlash + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        return environment
    }

    @Test func everyConfigurationValidates() throws {
        let base = directory.write("base.yaml", "sources: { app: { type: stdin } }\n")
        var checked = 0
        for block in try blocks where block.language == "yaml" {
            let text = block.lines.joined(separator: "\n") + "\n"
            // The extension example's sink type exists only in the build the README shows.
            if text.contains("type: text_file") { continue }
            if text.hasPrefix("tests:") || text.contains("\ntests:") { continue }  // a cases file, run below
            let file = directory.write("block-\(block.line).yaml", text)
            let files = text.contains("sources:") ? ["--config", file] : ["--config", base, "--config", file]
            let validate = try ChildProcess(executable: SluiceBinary.path, arguments: ["validate"] + files, environment: environment, stdin: .null)
            #expect(validate.wait().exitStatus == 0, "README.md:\(block.line): \(validate.standardError)")
            checked += 1
        }
        #expect(checked >= 4)
    }

    @Test func everyConsoleCommandPrintsWhatItShows() throws {
        let blocks = try blocks
        for block in blocks where block.language == "yaml" {
            if let name = block.lines.first?.dropFirst(2), block.lines.first?.hasPrefix("# ") == true, name.hasSuffix(".yaml") {
                directory.write(String(name), block.lines.joined(separator: "\n") + "\n")
            }
        }
        var commands = 0
        for block in blocks where block.language == "console" {
            var index = 0
            while index < block.lines.count {
                guard block.lines[index].hasPrefix("$ ") else {
                    index += 1
                    continue
                }
                let command = String(block.lines[index].dropFirst(2))
                index += 1
                var shown: [String] = []
                while index < block.lines.count, !block.lines[index].hasPrefix("$ ") {
                    shown.append(block.lines[index])
                    index += 1
                }
                let shell = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "cd \"$0\" && " + command, directory.path], environment: environment, stdin: .null)
                _ = shell.wait()
                #expect(shell.standardOutputLines.map(Self.masked) == shown.map(Self.masked), "README.md:\(block.line): \(command)\n\(shell.standardOutput)\(shell.standardError)")
                commands += 1
            }
        }
        #expect(commands >= 4)
    }

    /// What changes from run to run: times, the host's name, memory.
    private static func masked(_ line: String) -> String {
        var line = line
        for (pattern, replacement) in [(#""@timestamp":"[^"]*""#, #""@timestamp":"…""#), (#""host":"[^"]*""#, #""host":"…""#), (#""peak_rss_kib":[0-9]+"#, #""peak_rss_kib":…"#)] {
            line = line.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return line
    }
}

private extension String {
    var withLeadingSlash: String { hasPrefix("/") ? self : "/" + self }
}
