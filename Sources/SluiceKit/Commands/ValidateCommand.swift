import ArgumentParser
import SluiceConfig
import SluiceCore

/// `sluice validate`: load files, environment and interpolation, validate everything, and print
/// the effective configuration with secrets redacted (exit 0), or every problem (exit 78).
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate the configuration and print it as it would run, secrets redacted."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        print(try options.loadOrExit().context.effective.render(), terminator: "")
    }
}

/// `print(..., to: &standardError)`.
struct StandardError: TextOutputStream {
    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { try? OutputDescriptor.writeAll(UnsafeRawBufferPointer($0), to: 2, name: "stderr") }
    }
}
