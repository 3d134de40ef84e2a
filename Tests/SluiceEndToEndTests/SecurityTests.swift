import Foundation
import Glibc
import SluiceTesting
import Testing

@Suite("security: secrets, TLS, listeners, what a child process gets", .timeLimit(.minutes(10)), .watchdog)
struct SecurityTests {
    let directory = TemporaryDirectory()

    /// Marker secrets in every secret-bearing key: none of them may appear in anything Sluice
    /// prints while it runs against failing servers, in /metrics, in `validate`'s output, or in
    /// the errors of a configuration that cannot start.
    @Test func markerSecretsAppearInNoOutput() throws {
        let markers = [
            "ES_API_KEY": "MARKER-apikey-5b1d", "HOOK_TOKEN": "MARKER-token-93ae",
            "ES_PASSWORD": "MARKER-password-27c0", "WEBHOOK_URL": "http://127.0.0.1:1/hooks/MARKER-webhook-c4f2",
        ]
        let refusing = try FakeBulkServer { _ in .status(401, body: #"{"error":"unauthorized"}"#) }
        let config = directory.write("secrets.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search:
                type: elasticsearch
                endpoint: "\(refusing.url)"
                api_key: "${ES_API_KEY}"
                when_full: drop_newest
                batch: { timeout: 50ms }
                retry: { initial_backoff: 50ms, max_backoff: 100ms }
              backup:
                type: elasticsearch
                endpoint: "\(refusing.url)"
                username: ops
                password: "${ES_PASSWORD}"
                when_full: drop_newest
                batch: { timeout: 50ms }
                retry: { initial_backoff: 50ms, max_backoff: 100ms }
              ingest:
                type: http
                url: "\(refusing.url)/ingest"
                headers: { X-Token: "${HOOK_TOKEN}" }
                when_full: drop_newest
                batch: { timeout: 50ms }
                retry: { initial_backoff: 50ms, max_backoff: 100ms }
              alerts:
                type: alert
                rules: [{ name: errors, when: 'level >= error', notify: [page] }]
                notifiers: { page: { type: webhook, url: "${WEBHOOK_URL}", timeout: 200ms, retries: 1, retry_backoff: 10ms } }
            metrics: { unhealthy_after: 100ms }
            shutdown: { grace_period: 300ms }
            """)
        var outputs: [(String, String)] = []

        let sluice = try SluiceBinary.launch(["--config", config], environment: markers)
        let metrics = try #require(sluice.metricsPort())
        sluice.write((0..<50).map { #"{"level":"error","n":\#($0)}"# }.joined(separator: "\n") + "\n")
        #expect(Eventually.wait(seconds: 10) {
            sluice.standardError.contains("401") && sluice.standardError.contains("notification failed")
        })
        outputs.append(("/metrics", (try? HTTPGet.get(port: metrics, path: "/metrics").body) ?? ""))
        outputs.append(("/readyz", (try? HTTPGet.get(port: metrics, path: "/readyz").body) ?? ""))
        sluice.send(SIGTERM)
        _ = sluice.wait()
        outputs.append(("run", sluice.standardOutput + sluice.standardError))

        let validate = try SluiceBinary.launch(["validate", "--config", config], environment: markers, stdin: .null)
        #expect(validate.wait().exitStatus == 0)
        #expect(validate.standardOutput.contains("<redacted>"))
        outputs.append(("validate", validate.standardOutput + validate.standardError))

        // A configuration that cannot start: its problems are printed, the secrets are not.
        let broken = directory.write("broken.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              search: { type: elasticsearch, endpoint: "https://ops:${ES_API_KEY}@es:9200", api_key: "${ES_API_KEY}", colour: red }
              backup: { type: elasticsearch, endpoint: "http://x/", username: ops, password: "${ES_PASSWORD}", batch: { max_events: -1 } }
              ingest: { type: http, url: "http://x/", headers: { X-Token: "${HOOK_TOKEN}" }, tls: { verify: "${HOOK_TOKEN}" } }
            """)
        for command in [["validate", "--config", broken], ["--config", broken]] {
            let failing = try SluiceBinary.launch(command, environment: markers, stdin: .null)
            #expect(failing.wait().exitStatus == 78)
            #expect(failing.standardError.contains("put credentials in api_key"))
            outputs.append((command.joined(separator: " "), failing.standardOutput + failing.standardError))
        }

        for (name, text) in outputs {
            #expect(!text.isEmpty, "\(name) printed nothing to check")
            for secret in markers.values {
                let marker = String(secret.split(separator: "/").last ?? "")
                #expect(!text.contains(marker), "\(name) shows the secret \(marker)")
            }
        }
    }

    /// TLS to an indexer verifies its certificate: a self-signed server is refused until its
    /// certificate is configured as the CA file, and then every event arrives.
    @Test func aSelfSignedIndexerIsTrustedOnlyWithItsCAFile() throws {
        let certificate = try TestCertificate(in: directory.path)
        let server = try FakeBulkServer(tls: certificate)
        #expect(server.url.hasPrefix("https://"))
        func config(_ tls: String) -> String {
            directory.write("tls.yaml", """
                sources: { app: { type: stdin } }
                sinks:
                  search:
                    type: elasticsearch
                    endpoint: "\(server.url)"
                    when_full: drop_newest
                    batch: { timeout: 50ms }
                    retry: { initial_backoff: 50ms, max_backoff: 100ms }
                    timeout: 2s
                    \(tls)
                shutdown: { grace_period: 300ms }
                """)
        }
        let input = (0..<100).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n"

        let untrusted = try SluiceBinary.launch(["--config", config("")])
        untrusted.write(input)
        #expect(Eventually.wait(seconds: 15) { untrusted.standardError.contains("CERTIFICATE_VERIFY_FAILED") })
        #expect(untrusted.standardError.contains("set tls.ca_file"))
        untrusted.send(SIGTERM)
        _ = untrusted.wait()
        #expect(server.indexed.isEmpty, "nothing may reach an unverified server")

        let trusted = try SluiceBinary.launch(
            ["--config", config("tls: { ca_file: \"\(certificate.certificatePath)\" }")],
            stdin: .file(directory.write("in.log", input))
        )
        #expect(trusted.wait().exitStatus == 0)
        #expect(server.indexed.count == 100)
    }

    /// With no address configured, every socket Sluice listens on (TCP and UDP sources,
    /// metrics) is bound to the loopback interface.
    @Test func listenersBindToLoopbackByDefault() throws {
        let config = directory.write("loopback.yaml", """
            sources:
              net: { type: tcp }
              datagrams: { type: udp }
            sinks: { all: { type: blackhole } }
            """)
        var environment = SluiceBinary.environment(["PORT": "0"])
        environment["SLUICE_METRICS_ADDRESS"] = nil
        let sluice = try ChildProcess(executable: SluiceBinary.path, arguments: ["--config", config], environment: environment, stdin: .null)
        #expect(Eventually.wait { sluice.standardError.contains("\"metrics listening\"") })
        #expect(Eventually.wait { sluice.standardError.components(separatedBy: "\"listening\"").count == 3 })
        let sockets = Self.boundAddresses(of: sluice.pid)
        #expect(sockets.count >= 3, "found \(sockets)")
        for (table, address) in sockets {
            #expect(address == "0100007F" || address == "00000000000000000000000001000000", "\(table) socket bound to \(address)")
        }
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
    }

    /// A Unix socket source's file gets the configured mode, owner and group.
    @Test func theUnixSocketHasTheConfiguredModeAndOwner() throws {
        let path = directory.path + "/owned.sock"
        // Root can give the socket away; anyone else can only name themselves.
        let owner = getuid() == 0 ? 65534 : getuid()
        let group = getuid() == 0 ? 65534 : getgid()
        let config = directory.write("owned.yaml", """
            sources: { sock: { type: unix, path: "\(path)", mode: "0600", owner: "\(owner)", group: "\(group)" } }
            sinks: { all: { type: blackhole } }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait { sluice.standardError.contains("\"listening\"") })
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(status.st_uid == owner && status.st_gid == group)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
    }

    /// Wrap mode hands the app exactly Sluice's environment and its argv as given: nothing
    /// added, nothing removed, no shell to expand anything.
    @Test func theWrappedAppGetsExactlySluicesEnvironmentAndArguments() throws {
        let environment = ["PATH": "/usr/bin:/bin", "ONE": "1", "SPACED": "two words", "EQUALS": "a=b=c", "EMPTY": ""]
        let env = try ChildProcess(executable: SluiceBinary.path, arguments: ["--", "/usr/bin/env"], environment: environment, stdin: .null)
        #expect(env.wait().exitStatus == 0)
        let printed = events(env.standardOutput.split(separator: "\n").map(String.init)).compactMap { $0["message"] as? String }
        #expect(printed.sorted() == environment.map { "\($0.key)=\($0.value)" }.sorted())

        let arguments = ["$HOME; echo pwned", "*", "`id`", "a\"b", "", "two  spaces"]
        let echo = try ChildProcess(executable: SluiceBinary.path, arguments: ["--", "/usr/bin/printf", "[%s]\\n"] + arguments, environment: environment, stdin: .null)
        #expect(echo.wait().exitStatus == 0)
        let echoed = events(echo.standardOutput.split(separator: "\n").map(String.init)).compactMap { $0["message"] as? String }
        #expect(echoed == arguments.map { "[\($0)]" })
    }

    /// The local address (hex, as the kernel prints it) of each TCP and UDP socket `pid` holds.
    static func boundAddresses(of pid: Int32) -> [(table: String, address: String)] {
        let links = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(links.compactMap { name -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
        var result: [(String, String)] = []
        for table in ["tcp", "tcp6", "udp", "udp6"] {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? ""
            for row in text.split(separator: "\n").dropFirst() {
                let columns = row.split(separator: " ")
                guard columns.count > 9, inodes.contains(String(columns[9])) else { continue }
                result.append((table, String(columns[1].split(separator: ":")[0])))
            }
        }
        return result
    }
}
