import CLinux

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain OS thread with a name (visible in `top -H`), for Sluice's long-running loops: every
/// source and sink runs on its own thread and blocks in the kernel when idle.
public final class NamedThread: Sendable {
    private let handle: pthread_t

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept by the kernel).
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        final class Box {
            let name: String
            let body: @Sendable () -> Void
            init(name: String, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            NamedThread.nameCurrentThread(box.name)
            box.body()
            return nil
        }, box)
        precondition(result == 0, "cannot start thread \(name): error \(result)")
        handle = thread
    }

    /// Linux keeps a thread's name in /proc (15 bytes at most); elsewhere naming is skipped.
    static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        #endif
    }

    /// Starts `body` on a thread nobody waits for: its resources go back to the system when it
    /// ends (a thread neither joined nor detached keeps its stack until the process exits).
    public static func detached(name: String, _ body: @escaping @Sendable () -> Void) {
        pthread_detach(NamedThread(name: name, body).handle)
    }

    /// Waits for the thread to end.
    public func join() {
        pthread_join(handle, nil)
    }

    /// Waits at most `seconds` for the thread to end (tests: a stuck thread fails the test
    /// instead of hanging it); true when it ended. Not joined threads are joined by a later call.
    public func join(seconds: Double) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let deadline = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + seconds
        var limit = timespec(tv_sec: Int(deadline), tv_nsec: Int((deadline - deadline.rounded(.down)) * 1e9))
        return sluice_timed_join(handle, &limit) == 0
    }
}
