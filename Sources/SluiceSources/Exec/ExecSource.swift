public import SluiceCore
import Logging
import SluiceSync

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program (argv, no shell) and reads its stdout and stderr as two streams, tagged
/// `stream: stdout` and `stream: stderr`.
///
/// The source ends when both pipes have closed after the program exits; `exit` then says how
/// it ended. Signals Sluice receives are forwarded to it (`forwardsSignals`); when shutdown's
/// grace period ends with the program still running, it is killed.
public final class ExecSource: Source, SettingsCarrying {
    public let name: String
    public let command: [String]
    public let environment: [String: String]?
    public let workingDirectory: String?
    public let settings: SourceSettings
    public let host: String
    /// Whether the program shares Sluice's stdin (wrap mode) or reads /dev/null.
    public let inheritsStandardInput: Bool
    private let state = Locked<(pid: Int32?, exit: ChildExit?, spawnFailure: SpawnError?)>((nil, nil, nil))
    private let logger = Logger(label: "sluice.source")

    public init(
        name: String, command: [String], environment: [String: String]? = nil, workingDirectory: String? = nil,
        settings: SourceSettings, host: String, inheritsStandardInput: Bool = false
    ) {
        self.name = name
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.settings = settings
        self.host = host
        self.inheritsStandardInput = inheritsStandardInput
    }

    /// How the program ended; nil while it runs or if it never started.
    public var exit: ChildExit? { state.withLock { $0.exit } }

    /// Why the program could not be started, if it could not.
    public var spawnFailure: SpawnError? { state.withLock { $0.spawnFailure } }

    public var forwardsSignals: Bool { true }

    public func forward(_ signal: Int32) {
        if let pid = state.withLock({ $0.exit == nil ? $0.pid : nil }) { kill(pid, signal) }
    }

    public func run(_ context: SourceContext) throws {
        let output = try ProcessSpawner.makePipe()
        let errors = try ProcessSpawner.makePipe()
        let pid: Int32
        do {
            pid = try ProcessSpawner.spawn(
                command, environment: environment, workingDirectory: workingDirectory,
                standardInput: inheritsStandardInput ? .inherit : .open("/dev/null"),
                standardOutput: .use(output.write), standardError: .use(errors.write)
            )
        } catch {
            for descriptor in [output.read, output.write, errors.read, errors.write] { close(descriptor) }
            state.withLock { $0.spawnFailure = error }
            throw error
        }
        close(output.write)
        close(errors.write)
        state.withLock { $0.pid = pid }
        context.markReady()
        logger.info("started program", metadata: ["source": "\(name)", "pid": "\(pid)", "command": .array(command.map { .string($0) })])

        let streams = [
            (output.read, publisher(context, stream: "stdout")),
            (errors.read, publisher(context, stream: "stderr")),
        ]
        defer { for (descriptor, _) in streams { close(descriptor) } }
        try readUntilBothClose(streams, context: context, pid: pid)

        let exit = ChildReaper.shared.waitForExit(of: pid)
        state.withLock { $0.exit = exit }
        logger.info("program ended", metadata: ["source": "\(name)", "pid": "\(pid)", "exit": "\(exit)"])
    }

    private func publisher(_ context: SourceContext, stream: String) -> LineStreamPublisher {
        LineStreamPublisher(
            context: context, format: settings.format,
            metadata: settings.metadata(sourceName: name, stream: stream, host: host),
            maxLineBytes: settings.maxLineBytes, multiline: settings.multiline
        )
    }

    private func readUntilBothClose(_ streams: [(Int32, LineStreamPublisher)], context: SourceContext, pid: Int32) throws {
        var open = [true, true]
        var killed = false
        while open.contains(true) {
            var descriptors = streams.enumerated().map { index, stream in
                pollfd(fd: open[index] ? stream.0 : -1, events: Int16(POLLIN), revents: 0)
            }
            descriptors.append(pollfd(fd: killed ? -1 : context.shutdown.stopDescriptor, events: Int16(POLLIN), revents: 0))
            let timeout = streams.compactMap { $0.1.multilineDeadlineMilliseconds() }.min() ?? -1
            if poll(&descriptors, nfds_t(descriptors.count), Int32(timeout)) < 0 {
                if errno == EINTR { continue }
                throw SourceReadError(source: name, operation: "poll", errorNumber: errno)
            }
            for stream in streams where !stream.1.flushExpiredMultiline() {
                return
            }
            if descriptors[2].revents != 0 && !killed {
                // The grace period is over and the program still holds its pipes open.
                logger.warning("grace period over; killing program", metadata: ["source": "\(name)", "pid": "\(pid)"])
                kill(pid, SIGKILL)
                killed = true
            }
            for index in 0..<2 where open[index] && descriptors[index].revents != 0 {
                let (descriptor, publisher) = streams[index]
                let space = publisher.spaceForRead()
                let count = read(descriptor, space.baseAddress, space.count)
                if count > 0 {
                    if !publisher.didRead(count) { return }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[index] = false
                    if !publisher.finish() { return }
                }
            }
        }
    }
}
