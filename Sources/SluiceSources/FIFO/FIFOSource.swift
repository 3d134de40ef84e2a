public import SluiceCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Reads a named pipe that other processes (other containers sharing a volume) write to.
///
/// The FIFO is created when missing (with `mode`). Writers may come and go: when the last one
/// closes, whatever it wrote is already read (and an unfinished last line is published), and
/// the FIFO is opened again to wait for the next writer, so a new writer never finds it without
/// a reader for longer than a reopen. Writers of more than `PIPE_BUF` (4 KiB) at a time may
/// interleave with each other; that is how pipes work, not something a reader can undo.
///
/// On SIGTERM it reads until the current writers close or the grace period ends.
public final class FIFOSource: Source, SettingsCarrying {
    public let name: String
    public let path: String
    public let mode: UInt32
    public let settings: SourceSettings
    public let host: String
    private let logger = Logger(label: "sluice.source")

    public init(name: String, path: String, mode: UInt32 = 0o660, settings: SourceSettings, host: String) {
        self.name = name
        self.path = path
        self.mode = mode
        self.settings = settings
        self.host = host
    }

    public func run(_ context: SourceContext) throws {
        try Self.createIfMissing(path, mode: mode, source: name)
        context.markReady()
        let publisher = LineStreamPublisher(
            context: context, format: settings.format,
            metadata: settings.metadata(sourceName: name, stream: nil, host: host),
            maxLineBytes: settings.maxLineBytes, multiline: settings.multiline
        )
        while !context.shutdown.isStopping {
            // Non-blocking open: a reader needs no writer yet; poll waits for one.
            let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else { throw SocketError(source: name, operation: "open", target: path, errorNumber: errno) }
            DescriptorReader.enlargePipeBuffer(descriptor)
            let ending = try DescriptorReader.readToEnd(
                descriptor, into: publisher, shutdown: context.shutdown, sourceName: name, checkWritersOnDrain: true
            )
            close(descriptor)
            // After the writers left: reopen and wait for the next, unless Sluice is stopping.
            if ending != .endOfFile || context.shutdown.isDraining { return }
        }
    }

    /// Creates the FIFO, or checks that what is at `path` is one.
    static func createIfMissing(_ path: String, mode: UInt32, source: String) throws {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFIFO else {
                throw SocketError(source: source, operation: "use", target: path, errorNumber: EEXIST, detail: "exists and is not a FIFO")
            }
            return
        }
        try Directories.createParent(of: path, source: source)
        guard mkfifo(path, mode) == 0 || errno == EEXIST else {
            throw SocketError(source: source, operation: "mkfifo", target: path, errorNumber: errno)
        }
        // mkfifo applies the umask; set the mode asked for.
        chmod(path, mode)
    }
}
