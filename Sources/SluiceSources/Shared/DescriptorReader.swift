public import SluiceCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reading a source's input, naming the source and the system error.
public struct SourceReadError: Error, CustomStringConvertible {
    public let source: String
    public let operation: String
    public let errorNumber: Int32

    public var description: String {
        "source \"\(source)\": \(operation) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
    }
}

/// Reads one file descriptor until end of file, publishing lines as it goes.
public enum DescriptorReader {
    public enum Ending: Equatable {
        /// The writer closed its end.
        case endOfFile
        /// Shutdown's grace period ended first.
        case stopped
        /// The pipeline closed the ring.
        case pipelineClosed
    }

    /// Reads `descriptor` into `publisher` until EOF or `shutdown` says stop, waiting in
    /// `poll` (no CPU while the writer is quiet). A last line without a newline is published.
    ///
    /// `checkWritersOnDrain` is for non-blocking FIFOs: once draining starts, one read tells
    /// whether any writer is still connected (0 bytes: none, so the input has ended).
    public static func readToEnd(
        _ descriptor: Int32,
        into publisher: LineStreamPublisher,
        shutdown: ShutdownSignal,
        sourceName: String,
        checkWritersOnDrain: Bool = false
    ) throws -> Ending {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: shutdown.stopDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: checkWritersOnDrain ? shutdown.drainDescriptor : -1, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let timeout = publisher.multilineDeadlineMilliseconds() ?? -1
            let ready = poll(&descriptors, 3, Int32(timeout))
            if ready < 0 {
                if errno == EINTR { continue }
                throw SourceReadError(source: sourceName, operation: "poll", errorNumber: errno)
            }
            guard publisher.flushExpiredMultiline() else { return .pipelineClosed }
            if descriptors[1].revents != 0 {
                return publisher.finish() ? .stopped : .pipelineClosed
            }
            if descriptors[2].revents != 0 {
                descriptors[2].fd = -1
                descriptors[0].revents = Int16(POLLIN)
            }
            guard descriptors[0].revents != 0 else { continue }
            let space = publisher.spaceForRead()
            let count = read(descriptor, space.baseAddress, space.count)
            if count > 0 {
                guard publisher.didRead(count) else { return .pipelineClosed }
                continue
            }
            if count == 0 {
                return publisher.finish() ? .endOfFile : .pipelineClosed
            }
            switch errno {
            case EINTR, EAGAIN:
                continue
            default:
                let error = errno
                _ = publisher.finish()
                throw SourceReadError(source: sourceName, operation: "read", errorNumber: error)
            }
        }
    }

    /// Asks the kernel for a 1 MiB pipe buffer when `descriptor` is a pipe or FIFO: fewer, larger
    /// reads, and more room for writers before they have to wait. Failure is harmless.
    public static func enlargePipeBuffer(_ descriptor: Int32) {
        #if os(Linux)
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ
        _ = fcntl(descriptor, setPipeSize, Int32(1 << 20))
        #endif
    }
}
