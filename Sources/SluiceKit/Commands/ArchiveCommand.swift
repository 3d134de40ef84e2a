import ArgumentParser
import SluiceSinks

/// `sluice archive ...`: commands on archive files.
struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Work with the gzip archives the archive sink writes.",
        subcommands: [VerifyArchiveCommand.self]
    )
}

/// `sluice archive verify PATH...`: decompresses each file, counts members and events, and
/// reports the first damaged offset of a truncated or corrupt file. Exits 1 if any is damaged.
struct VerifyArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check archive files; exit 1 if any is damaged."
    )

    @Argument(help: ArgumentHelp("Archive files (.ndjson.gz).", valueName: "path"))
    var paths: [String]

    func run() throws {
        var damaged = 0
        var standardError = StandardError()
        for path in paths {
            let result = ArchiveVerifier.verify(path)
            if result.isIntact {
                print(result.description)
            } else {
                damaged += 1
                print(result.description, to: &standardError)
            }
        }
        if damaged > 0 { throw ExitCode(1) }
    }
}
