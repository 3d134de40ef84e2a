import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// The `sluice` executable built next to the test bundle, and ways to run it.
public enum SluiceBinary {
    /// `$SLUICE_TEST_BINARY` when set (CI runs the end-to-end suite against the static
    /// build the container ships), else `.build/<configuration>/sluice`, found from the running
    /// test binary's location.
    public static var path: String {
        if let chosen = getenv("SLUICE_TEST_BINARY").map({ String(cString: $0) }), !chosen.isEmpty { return chosen }
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var directory = executable
        // The test binary is `.build/debug/<name>.xctest` (a file on Linux).
        while let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if access(directory + "/sluice", X_OK) == 0 { return directory + "/sluice" }
        }
        return "sluice"
    }

    /// The test environment without any `SLUICE_` variable of the developer's shell, and with
    /// metrics on a port the kernel picks (tests run many Sluices at once).
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ChildProcess.currentEnvironment.filter { !$0.key.hasPrefix("SLUICE_") }
        environment["SLUICE_METRICS_ADDRESS"] = "127.0.0.1:0"
        environment.merge(extra) { $1 }
        return environment
    }

    public static func launch(
        _ arguments: [String] = [],
        environment extra: [String: String] = [:],
        stdin: ChildProcess.Input = .pipe,
        stdout: ChildProcess.Output = .capture
    ) throws -> ChildProcess {
        try ChildProcess(executable: path, arguments: arguments, environment: environment(extra), stdin: stdin, stdout: stdout)
    }
}

/// A scratch directory removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        var template = Array("/tmp/sluice-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = created.map { String(cString: $0) } ?? "/tmp"
    }

    /// Removes the directory in process: no `rm` child, so unit tests under the thread
    /// sanitizer do not fork from a busy multithreaded process (the sanitizer's runtime can
    /// crash in a child forked while other threads run).
    deinit {
        Self.remove(path)
    }

    private static func remove(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        // A directory made read-only (a test of an unwritable path) is opened up first.
        if status.st_mode & S_IFMT == S_IFDIR { chmod(path, 0o700) }
        if status.st_mode & S_IFMT == S_IFDIR {
            for name in directoryNames(in: path) { remove(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Writes a file in the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) -> String {
        write(name, Array(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let filePath = path + "/" + name
        let descriptor = open(filePath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot write \(filePath)")
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        close(descriptor)
        return filePath
    }
}
