import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// A level-triggered epoll set for one source thread.
struct Epoll: ~Copyable {
    let descriptor: Int32
    private var readyDescriptors = [Int32](repeating: 0, count: 256)
    private var readyEvents = [UInt32](repeating: 0, count: 256)

    static let readable = UInt32(EPOLLIN.rawValue)

    init(source: String) throws {
        descriptor = sluice_epoll_create()
        guard descriptor >= 0 else { throw SocketError(source: source, operation: "epoll_create", target: "", errorNumber: errno) }
    }

    deinit {
        close(descriptor)
    }

    func add(_ file: Int32, events: UInt32 = Epoll.readable) {
        _ = sluice_epoll_control(descriptor, EPOLL_CTL_ADD, file, events)
    }

    func remove(_ file: Int32) {
        _ = sluice_epoll_control(descriptor, EPOLL_CTL_DEL, file, 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns the ready descriptors.
    mutating func wait(timeoutMilliseconds: Int32) -> ArraySlice<(descriptor: Int32, events: UInt32)> {
        let count = readyDescriptors.withUnsafeMutableBufferPointer { files in
            readyEvents.withUnsafeMutableBufferPointer { events in
                sluice_epoll_wait(descriptor, files.baseAddress, events.baseAddress, Int32(files.count), timeoutMilliseconds)
            }
        }
        guard count > 0 else { return [] }
        return (0..<Int(count)).map { (readyDescriptors[$0], readyEvents[$0]) }[...]
    }
}
