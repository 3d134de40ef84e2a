import SluiceCore
import SluiceSync
import Glibc


/// A real child process for end-to-end tests: spawned with argv (no shell), its stdin a pipe
/// or a file, its stdout and stderr captured by background threads.
///
/// `@unchecked Sendable`: descriptors are fixed at launch; captured output is behind mutexes.
public final class ChildProcess: @unchecked Sendable {
    public enum Input {
        case pipe
        case file(String)
        case null
    }

    public enum Output {
        case capture
        case null
    }

    public struct Termination: Sendable, Equatable {
        /// The exit status, or nil when a signal ended the process.
        public let exitStatus: Int32?
        public let signal: Int32?
        /// `wait4`'s peak resident memory, in KiB. Linux counts the address space the child had
        /// before `exec` too, which for a spawned child is this (test) process's: use the
        /// `peak_rss_kib` Sluice logs at exit to measure Sluice.
        public let maxResidentKilobytes: Int
    }

    public let pid: Int32
    private var stdinWriter: Int32
    private let stdoutCapture: Capture?
    private let stderrCapture: Capture?

    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        stdin: Input = .null,
        stdout: Output = .capture,
        stderr: Output = .capture
    ) throws {
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        var writer: Int32 = -1
        let standardInput: ProcessSpawner.Descriptor
        switch stdin {
        case .pipe:
            let ends = try ProcessSpawner.makePipe()
            writer = ends.write
            childEnds.append(ends.read)
            standardInput = .use(ends.read)
        case .file(let path):
            standardInput = .open(path)
        case .null:
            standardInput = .open("/dev/null")
        }
        var captures: [Capture?] = []
        var outputs: [ProcessSpawner.Descriptor] = []
        for output in [stdout, stderr] {
            switch output {
            case .capture:
                let ends = try ProcessSpawner.makePipe()
                childEnds.append(ends.write)
                captures.append(Capture(descriptor: ends.read))
                outputs.append(.use(ends.write))
            case .null:
                captures.append(nil)
                outputs.append(.open("/dev/null"))
            }
        }
        do {
            pid = try ProcessSpawner.spawn(
                [executable] + arguments, environment: environment ?? ProcessSpawner.currentEnvironment(),
                standardInput: standardInput, standardOutput: outputs[0], standardError: outputs[1]
            )
        } catch {
            if writer >= 0 { close(writer) }
            throw ChildProcessError(message: error.description)
        }
        stdinWriter = writer
        stdoutCapture = captures[0]
        stderrCapture = captures[1]
    }

    deinit {
        if stdinWriter >= 0 { close(stdinWriter) }
    }

    /// Writes everything to the child's stdin (blocking while the pipe is full).
    public func write(_ text: String) {
        write(Array(text.utf8))
    }

    public func write(_ bytes: [UInt8]) {
        precondition(stdinWriter >= 0, "stdin is not a pipe or is closed")
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(stdinWriter, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Bytes written to the child's stdin pipe that it has not read yet (0 once it has read
    /// everything), from the pipe's FIONREAD; nil when stdin is not a pipe.
    public var unreadStdinBytes: Int? {
        guard stdinWriter >= 0 else { return nil }
        var count: Int32 = 0
        return ioctl(stdinWriter, UInt(FIONREAD), &count) == 0 ? Int(count) : nil
    }

    public func closeStdin() {
        if stdinWriter >= 0 {
            close(stdinWriter)
            stdinWriter = -1
        }
    }

    public func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Whether the child has exited (a zombie not yet waited for, or waited for already),
    /// without waiting for it.
    public var hasExited: Bool {
        if termination.withLock({ $0 }) != nil { return true }
        // /proc/<pid>/stat: "<pid> (<name>) <state> ...", the state Z for a zombie.
        let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0, let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return true }
        return buffer[close + 2] == UInt8(ascii: "Z")
    }

    /// What the first `wait` found, for later calls.
    private let termination = Locked<Termination?>(nil)

    public var standardOutput: String { stdoutCapture?.text ?? "" }
    public var standardError: String { stderrCapture?.text ?? "" }
    public var standardOutputLines: [String] { standardOutput.split(separator: "\n").map(String.init) }
    public var standardErrorLines: [String] { standardError.split(separator: "\n").map(String.init) }

    /// Waits for the child to exit, killing it after `seconds`. Captured output is complete
    /// when this returns.
    @discardableResult
    public func wait(seconds: Double = 60) -> Termination {
        if let known = termination.withLock({ $0 }) { return known }
        let ended = waitOnce(seconds: seconds)
        termination.withLock { $0 = ended }
        return ended
    }

    private func waitOnce(seconds: Double) -> Termination {
        let deadline = ChildProcess.nowSeconds() + seconds
        var status: Int32 = 0
        var usage = rusage()
        var reapedElsewhere: ChildExit?
        while true {
            let result = wait4(pid, &status, WNOHANG, &usage)
            if result == pid {
                ChildReaper.shared.forget(pid)
                break
            }
            if result < 0 && errno == ECHILD {
                // A Sluice running inside this test process (the extension API's tests) reaps
                // every child on SIGCHLD, as it must as PID 1, and keeps each one's status.
                reapedElsewhere = ChildReaper.shared.exitIfEnded(pid)
                if reapedElsewhere != nil { break }
            } else if result < 0 && errno != EINTR {
                break
            }
            if ChildProcess.nowSeconds() > deadline {
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                ChildReaper.shared.forget(pid)
                break
            }
            ChildProcess.pause(milliseconds: 5)
        }
        stdoutCapture?.join()
        stderrCapture?.join()
        if let reapedElsewhere {
            return Termination(exitStatus: reapedElsewhere.status, signal: reapedElsewhere.signal, maxResidentKilobytes: 0)
        }
        let signaled = status & 0x7F != 0 && status & 0x7F != 0x7F
        return Termination(
            exitStatus: signaled ? nil : (status >> 8) & 0xFF,
            signal: signaled ? status & 0x7F : nil,
            maxResidentKilobytes: Int(usage.ru_maxrss)
        )
    }

    /// Sleeps without busy-waiting.
    public static func pause(milliseconds: Int) {
        _ = poll(nil, 0, Int32(milliseconds))
    }

    public static func nowSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    public static var currentEnvironment: [String: String] {
        ProcessSpawner.currentEnvironment()
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Reads a descriptor to EOF on its own thread.
private final class Capture: @unchecked Sendable {
    // @unchecked: `bytes` is behind the mutex; the thread handle is set once in init.
    private let bytes = Locked<[UInt8]>([])
    private var thread = pthread_t()

    init(descriptor: Int32) {
        let context = Unmanaged.passRetained(CaptureContext(descriptor: descriptor, capture: self)).toOpaque()
        pthread_create(&thread, nil, { argument in
            let context = Unmanaged<CaptureContext>.fromOpaque(argument!).takeRetainedValue()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(context.descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                context.capture.bytes.withLock { $0.append(contentsOf: buffer[0..<count]) }
            }
            close(context.descriptor)
            return nil
        }, context)
    }

    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }

    func join() {
        pthread_join(thread, nil)
    }
}

private final class CaptureContext {
    let descriptor: Int32
    let capture: Capture
    init(descriptor: Int32, capture: Capture) {
        self.descriptor = descriptor
        self.capture = capture
    }
}
