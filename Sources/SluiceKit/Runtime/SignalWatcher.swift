import CLinux
import Glibc

/// Delivers the process's signals as readable events on a descriptor (Linux `signalfd`).
///
/// The signals are blocked in the calling thread before any other thread starts, so every
/// thread inherits the mask and only this descriptor ever sees them.
struct SignalWatcher: ~Copyable {
    static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD]
    let descriptor: Int32

    init() {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Self.handled { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        // A reader that goes away must be an EPIPE error, and a file-size limit an EFBIG error,
        // not a silent death.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        descriptor = signalfd(-1, &mask, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        precondition(descriptor >= 0, "signalfd failed: errno \(errno)")
    }

    deinit {
        close(descriptor)
    }

    /// The signals that arrived since the last call.
    func drain() -> [Int32] {
        var received: [Int32] = []
        var info = signalfd_siginfo()
        while read(descriptor, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            received.append(Int32(info.ssi_signo))
        }
        return received
    }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        case SIGCHLD: "SIGCHLD"
        default: "signal \(signal)"
        }
    }
}
