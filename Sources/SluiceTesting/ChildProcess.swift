import CLinux
import Synchronization
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
        /// Peak resident memory of the child, in KiB (from `wait4`).
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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []

        var writer: Int32 = -1
        switch stdin {
        case .pipe:
            let (read, write) = try Self.pipePair()
            posix_spawn_file_actions_adddup2(&actions, read, 0)
            writer = write
            childEnds.append(read)
            parentEnds.append(write)
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        var captures: [Capture?] = []
        for (descriptor, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .capture:
                let (read, write) = try Self.pipePair()
                posix_spawn_file_actions_adddup2(&actions, write, descriptor)
                childEnds.append(write)
                parentEnds.append(read)
                captures.append(Capture(descriptor: read))
            case .null:
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
                captures.append(nil)
            }
        }
        for end in parentEnds { posix_spawn_file_actions_addclose(&actions, end) }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentPairs = (environment ?? Self.currentEnvironment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { environmentPairs.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var child = pid_t()
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environmentPairs)
        for end in childEnds { close(end) }
        guard result == 0 else {
            for end in parentEnds { close(end) }
            throw ChildProcessError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
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

    public func closeStdin() {
        if stdinWriter >= 0 {
            close(stdinWriter)
            stdinWriter = -1
        }
    }

    public func send(_ signal: Int32) {
        kill(pid, signal)
    }

    public var standardOutput: String { stdoutCapture?.text ?? "" }
    public var standardError: String { stderrCapture?.text ?? "" }
    public var standardOutputLines: [String] { standardOutput.split(separator: "\n").map(String.init) }
    public var standardErrorLines: [String] { standardError.split(separator: "\n").map(String.init) }

    /// Waits for the child to exit, killing it after `seconds`. Captured output is complete
    /// when this returns.
    @discardableResult
    public func wait(seconds: Double = 60) -> Termination {
        let deadline = ChildProcess.nowSeconds() + seconds
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let result = wait4(pid, &status, WNOHANG, &usage)
            if result == pid { break }
            if result < 0 && errno != EINTR { break }
            if ChildProcess.nowSeconds() > deadline {
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                break
            }
            ChildProcess.pause(milliseconds: 5)
        }
        stdoutCapture?.join()
        stderrCapture?.join()
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

    static func nowSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    private static func pipePair() throws -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        guard sluice_pipe_cloexec(&descriptors) == 0 else {
            throw ChildProcessError(message: "pipe failed: \(String(cString: strerror(errno)))")
        }
        return (descriptors[0], descriptors[1])
    }

    public static var currentEnvironment: [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Reads a descriptor to EOF on its own thread.
private final class Capture: @unchecked Sendable {
    // @unchecked: `bytes` is behind the mutex; the thread handle is set once in init.
    private let bytes = Mutex<[UInt8]>([])
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
