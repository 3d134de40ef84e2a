#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Complete writes to a descriptor that may be a pipe, a file or a terminal.
public enum OutputDescriptor {
    /// `text`'s UTF-8, whole.
    public static func writeAll(_ text: String, to descriptor: Int32, name: String) throws {
        var text = text
        try text.withUTF8 { try writeAll(UnsafeRawBufferPointer($0), to: descriptor, name: name) }
    }

    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, name: String) throws {
        var written = 0
        try writeAll(bytes, to: descriptor, name: name, written: &written)
    }

    /// The same, saying in `written` how many bytes went out, also when it throws.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, name: String, written offset: inout Int) throws {
        offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written >= 0 {
                offset += written
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                // A non-blocking descriptor inherited from the parent: wait until it drains.
                var waitFor = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&waitFor, 1, 1000)
            case EPIPE:
                throw SinkError.permanent("\(name) is closed (EPIPE)")
            default:
                let error = errno
                throw SinkError.transient("writing \(name) failed: \(String(cString: strerror(error))) (errno \(error))")
            }
        }
    }
}
