import SluiceConfig
import SluiceCore
import SluiceSources

#if canImport(Glibc)
import Glibc
#endif

/// Wrap mode (`sluice -- app ARG...`): the wrapped program's source, and the signals passed on.
extension RuntimeConfiguration {
    /// The wrapped program's source: planned like any source, and kept as what it is, for the
    /// supervisor to learn how the program ended.
    static func wrappedSource(_ command: [String], reader: ConfigReader, host: String) -> (planned: PlannedSource, program: ExecSource) {
        // `type: stdin` is accepted too, so that one file serves `app | sluice` and
        // `sluice -- app`: either way the source `app` is the app's output.
        if let type = reader.optionalString("type"), type != "exec", type != "stdin" {
            reader.reportInvalid("type", "in wrap mode (sluice -- app ...) the source \"\(wrappedSourceName)\" is the wrapped program; its type can only be exec (or stdin, for a file that also serves pipe mode)")
        }
        if reader.contains("command") {
            reader.reportInvalid("command", "in wrap mode the command comes from the command line after --")
            _ = reader.stringList("command")
        }
        let settings = SourceSettings(reading: reader, defaultMultiline: .auto)
        reader.rejectUnknownKeys()
        let source = ExecSource(name: wrappedSourceName, command: command, settings: settings, host: host, inheritsStandardInput: true)
        return (PlannedSource(name: wrappedSourceName, type: "exec", build: { source }), source)
    }

    /// Signals forwarded by default: those that ask a program to stop (SIGTERM, SIGINT,
    /// SIGQUIT) and the two user signals, as tini and dumb-init forward them. Not SIGHUP: it is
    /// Sluice's own reload, and a program that does not handle it would die of it (SIGHUP's
    /// default action), which a reload of the router must never do to the app.
    static let defaultForwardedSignals: Set<Int32> = [SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2]

    /// The signals Sluice can forward, by name.
    static let forwardableSignals: [(name: String, number: Int32)] = [
        ("SIGTERM", SIGTERM), ("SIGINT", SIGINT), ("SIGQUIT", SIGQUIT), ("SIGHUP", SIGHUP), ("SIGUSR1", SIGUSR1), ("SIGUSR2", SIGUSR2),
    ]

    /// `wrap.forward_signals`: a list of signal names (`SIGTERM` or `TERM`, any case); `[]`
    /// forwards none. Listing SIGHUP forwards it as well as reloading Sluice.
    static func readForwardedSignals(_ wrap: ConfigReader) -> Set<Int32> {
        defer { wrap.rejectUnknownKeys() }
        let defaults = forwardableSignals.filter { defaultForwardedSignals.contains($0.number) }.map(\.name)
        let names = wrap.stringList("forward_signals", default: defaults)
        var signals: Set<Int32> = []
        let known = forwardableSignals.map(\.name)
        for name in names {
            let upper = name.uppercased()
            let full = upper.hasPrefix("SIG") ? upper : "SIG" + upper
            if let signal = forwardableSignals.first(where: { $0.name == full }) {
                signals.insert(signal.number)
            } else {
                wrap.reportInvalid("forward_signals", "\"\(name)\" is not a signal Sluice forwards; one of \(known.joined(separator: ", "))")
            }
        }
        return signals
    }
}
