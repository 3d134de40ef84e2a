import ArgumentParser
import SluiceBuffer
import SluiceComponentConfig
import SluiceConfig
import SluiceCore

/// `sluice buffer ...`: commands on the sinks' disk buffers.
struct BufferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buffer",
        abstract: "Work with the sinks' disk buffers.",
        subcommands: [InspectBufferCommand.self]
    )
}

/// `sluice buffer inspect [--config FILE]... [--sink NAME]`: per disk-buffered sink, what waits
/// (events, bytes, the oldest's age, segments), after reading and checking every record. Exits 1
/// naming file and offset when a record is damaged, or when a running Sluice holds the
/// data_dir (it would be reading files being written).
struct InspectBufferCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what waits in each disk buffer and check every record; exit 1 on damage."
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Only this sink's buffer.")
    var sink: String?

    func run(with registry: ComponentRegistry) throws {
        var standardError = StandardError()
        let configuration = try options.loadOrExit(registry: registry)
        let sinks = configuration.sinks.filter { $0.diskBuffer != nil && (sink == nil || $0.name == sink) }
        guard !sinks.isEmpty else {
            print(sink.map { "no sink named \"\($0)\" has a disk buffer" } ?? "no sink has a disk buffer (buffer: { type: disk })", to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
        if let holder = DataDirectoryLock.holder(of: configuration.dataDirectory) {
            print("Sluice (PID \(holder)) is running on data_dir \(configuration.dataDirectory); inspect its buffers once it has stopped", to: &standardError)
            throw ExitCode(1)
        }
        var damaged = false
        let now = EventTimestamp.nowMilliseconds()
        for planned in sinks {
            let directory = DiskBuffer.directory(dataDirectory: configuration.dataDirectory, sink: planned.name)
            let inspection = DiskBufferInspection(directory: directory)
            let age = inspection.oldestAppendedAtMilliseconds.map { " oldest \(Units.formatDuration(UInt64(max(0, now - $0)) * 1_000_000))," } ?? ""
            print("\(planned.name): \(inspection.events) events in \(inspection.records) batches waiting,\(age) \(inspection.bytes) bytes in \(inspection.segments) segments (\(directory))")
            for damage in inspection.damage {
                damaged = true
                print("\(planned.name): \(damage)", to: &standardError)
            }
        }
        if damaged { throw ExitCode(1) }
    }
}
