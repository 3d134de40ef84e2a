import ArgumentParser
import SluiceComponentConfig
import SluiceConfig
import SluiceCore

/// `sluice validate`: load files, environment and interpolation, validate everything, and print
/// the effective configuration with secrets redacted (exit 0), or every problem (exit 78).
struct ValidateCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate the configuration and print it as it would run, secrets redacted."
    )

    @OptionGroup var options: ConfigurationOptions

    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp("Check a wrap-mode configuration: after --, the program `sluice run` would wrap (not started).", valueName: "program")
    )
    var command: [String] = []

    func run(with registry: ComponentRegistry) throws {
        let context = try options.loadOrExit(registry: registry, wrappedCommand: command).context
        // Notices as comments, so the printed configuration still loads as it is.
        for notice in context.notices { print("# note: \(notice)") }
        print(context.effective.render(), terminator: "")
    }
}

/// `print(..., to: &standardError)`.
struct StandardError: TextOutputStream {
    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { try? OutputDescriptor.writeAll(UnsafeRawBufferPointer($0), to: 2, name: "stderr") }
    }
}
