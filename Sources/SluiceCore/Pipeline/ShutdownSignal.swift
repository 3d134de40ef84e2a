import Synchronization
import CLinux

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two steps of a graceful stop, visible both as flags and as file descriptors that become
/// readable (so a thread blocked in `poll` wakes at once).
///
/// 1. Draining: stop accepting new writers; keep reading what connected writers send until
///    they close.
/// 2. Stopping: the grace period is over (or a second signal came): stop reading now.
///
/// A signal may follow another: it is draining or stopping when either is. A disk-buffered sink
/// has one of its own, so it can stop its retries as soon as its work is safe on disk, while the
/// pipeline's stop still reaches it.
///
/// `@unchecked Sendable`: the descriptors are fixed at init; the state is atomic.
public final class ShutdownSignal: @unchecked Sendable {
    private let state = Atomic<Int>(0)
    private let drainPipe: (read: Int32, write: Int32)
    private let stopPipe: (read: Int32, write: Int32)
    private let parent: ShutdownSignal?

    public init(following parent: ShutdownSignal? = nil) {
        drainPipe = Self.makePipe()
        stopPipe = Self.makePipe()
        self.parent = parent
    }

    deinit {
        for descriptor in [drainPipe.read, drainPipe.write, stopPipe.read, stopPipe.write] {
            close(descriptor)
        }
    }

    public var isDraining: Bool { state.load(ordering: .acquiring) >= 1 || parent?.isDraining == true }
    public var isStopping: Bool { state.load(ordering: .acquiring) >= 2 || parent?.isStopping == true }

    /// Readable once draining began on this signal (and so also once stopping began). Sources
    /// poll the pipeline's, which follows no other.
    public var drainDescriptor: Int32 { drainPipe.read }
    /// Readable once stopping began on this signal itself.
    public var stopDescriptor: Int32 { stopPipe.read }

    /// Descriptors of which one becomes readable once `isStopping` (this signal's and those it
    /// follows), for a thread that waits in `poll` on something else too.
    public var stopDescriptors: [Int32] { [stopPipe.read] + (parent?.stopDescriptors ?? []) }

    public func beginDraining() {
        if state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
            poke(drainPipe.write)
        }
    }

    public func stopNow() {
        let previous = state.exchange(2, ordering: .acquiringAndReleasing)
        if previous < 1 { poke(drainPipe.write) }
        if previous < 2 { poke(stopPipe.write) }
    }

    /// Sleeps up to `nanoseconds`, waking early when stopping begins. Returns false if stopping.
    public func sleep(nanoseconds: UInt64) -> Bool {
        var descriptors = stopDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let milliseconds = Int32(min(nanoseconds / 1_000_000, UInt64(Int32.max)))
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
        return !isStopping
    }

    private func poke(_ descriptor: Int32) {
        var byte: UInt8 = 1
        _ = write(descriptor, &byte, 1)
    }

    private static func makePipe() -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        let result = sluice_pipe_cloexec(&descriptors)
        precondition(result == 0, "cannot create a pipe: errno \(errno)")
        return (descriptors[0], descriptors[1])
    }
}
