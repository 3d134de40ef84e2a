import Glibc
import SluiceTesting
import SluiceText
import Testing

/// Runs the manifests of Config/deploy/kubernetes in pods with `podman play kube`, on the image
/// `.ci/container-image` built (`SLUICE_TEST_IMAGE`, default `localhost/sluice:ci`). Pods share
/// the host's network, so Sluice's indexer (a `FakeBulkServer`) and its probes are on
/// 127.0.0.1; what cannot exist here is replaced by `Tests/Peers/localize_manifest.py`.
enum PodHarness {
    static let root = String(#filePath.split(separator: "/Tests/").first ?? "")
    static let image = ChildProcess.currentEnvironment["SLUICE_TEST_IMAGE"] ?? "localhost/sluice:ci"
    /// The apps' image: Debian's base with `/app/*` (Tests/Peers/pod-app) and the Sluice binary
    /// copied from the image, as the wrap-mode manifest tells users to build theirs.
    static let appImage = "localhost/sluice-test-app:ci"
    static let sluiceImageName = "registry.example.com/sluice:latest"
    /// Lines each app writes.
    static let lines = 2_000

    /// Why the pods cannot run here (podman, the image or the localizer's PyYAML missing); nil
    /// when they can. In CI a reason is a failure; elsewhere the tests print it and return.
    static let unavailable: String? = {
        guard ExternalTool.path("podman") != nil else { return "podman is not installed (.ci/setup --tests installs it)" }
        guard podman(["image", "exists", image]).status == 0 else {
            return "the image \(image) is not built (.ci/container-image builds it)"
        }
        guard podman(["image", "exists", "docker.io/library/debian:bookworm-slim"]).status == 0 else {
            return "the local Debian base image is not made (.ci/container-image makes it)"
        }
        guard run("/usr/bin/python3", ["-c", "import yaml"]).status == 0 else { return "python3-yaml is not installed" }
        return buildAppImage()
    }()

    /// Records the reason in CI (a failure), prints it elsewhere; true when the pods can run.
    static func ready() -> Bool {
        guard let reason = unavailable else { return true }
        if ExternalTool.inCI {
            Issue.record("pods cannot run: \(reason)")
        } else {
            print("PodTests: not run here: \(reason)")
        }
        return false
    }

    /// podman with CI's configuration (`CONTAINERS_CONF`, else `.build/containers.conf` that
    /// `.ci/container-image` writes).
    static func podman(_ arguments: [String], seconds: Double = 120) -> (status: Int32?, output: String) {
        run(ExternalTool.path("podman") ?? "podman", arguments, seconds: seconds)
    }

    static var environment: [String: String] {
        var environment = ChildProcess.currentEnvironment
        if environment["CONTAINERS_CONF"] == nil { environment["CONTAINERS_CONF"] = root + "/.build/containers.conf" }
        return environment
    }

    static func run(_ executable: String, _ arguments: [String], seconds: Double = 120) -> (status: Int32?, output: String) {
        guard let child = try? ChildProcess(executable: executable, arguments: arguments, environment: environment) else {
            return (nil, "cannot start \(executable)")
        }
        let termination = child.wait(seconds: seconds)
        return (termination.exitStatus, child.standardOutput + child.standardError)
    }

    private static func buildAppImage() -> String? {
        let context = TemporaryDirectory()
        let containerfile = """
            FROM docker.io/library/debian:bookworm-slim
            COPY --from=\(image) /usr/local/bin/sluice /usr/local/bin/sluice
            COPY pod-app /app/emit
            RUN chmod 755 /app/emit && for name in checkout billing web orders; do ln -s emit /app/$name; done
            # The OTLP manifest's app runs its image's entrypoint; the others name a command.
            ENTRYPOINT ["/app/orders"]
            """
        context.write("Containerfile", containerfile)
        let script = root + "/Tests/Peers/pod-app"
        guard run("/bin/cp", [script, context.path + "/pod-app"]).status == 0 else { return "cannot copy \(script)" }
        let build = podman(["build", "--pull=never", "--network", "none", "-q", "-t", appImage, context.path], seconds: 300)
        return build.status == 0 ? nil : "the apps' image did not build: \(build.output.suffix(800))"
    }
}

/// One manifest running as a pod: made runnable here, played, and stopped as the kubelet stops
/// a pod: SIGTERM to every container, SIGKILL past the grace period.
final class PlayedManifest {
    let file: String
    let directory = TemporaryDirectory()
    let pod: String
    /// The container running Sluice.
    let container: String

    /// - Parameters:
    ///   - manifest: the file name in Config/deploy/kubernetes.
    ///   - pod: the pod's name (`<deployment>-pod-0` for a Deployment, the name for a Pod).
    ///   - sluiceContainer: the container running Sluice.
    ///   - replacements: the localizer's flags (`--env NAME=VALUE`, ...).
    init(manifest: String, pod: String, sluiceContainer: String, replacements: [String]) throws {
        file = directory.path + "/" + manifest
        self.pod = pod
        container = "\(pod)-\(sluiceContainer)"
        let localize = PodHarness.run("/usr/bin/python3", [
            PodHarness.root + "/Tests/Peers/localize_manifest.py", PodHarness.root + "/Config/deploy/kubernetes/" + manifest,
            "--image", "\(PodHarness.sluiceImageName)=\(PodHarness.image)",
        ] + replacements)
        guard localize.status == 0 else { throw PodFailure("the localizer failed on \(manifest): \(localize.output)") }
        directory.write(manifest, localize.output)
        _ = PodHarness.podman(["play", "kube", "--down", file])
        let play = PodHarness.podman(["play", "kube", "--network", "host", file])
        guard play.status == 0 else { throw PodFailure("podman play kube \(manifest) failed: \(play.output.suffix(1_500))") }
    }

    /// A container's settings or state as podman has them (`podman inspect --format`).
    func inspect(_ container: String, _ format: String) -> String {
        String(PodHarness.podman(["inspect", "--format", format, container]).output.trimmed())
    }

    /// SIGTERM to every container, SIGKILL to what still runs after `graceSeconds` (the
    /// manifests' terminationGracePeriodSeconds), as the kubelet does. `podman pod stop -t`
    /// rather than `podman play kube --down`: podman 4.3's `--down` does not take the grace
    /// period from the manifest (its stop timeout stays 10 s). Returns how long the stop took,
    /// Sluice's whole log and its exit status; the pod is removed after.
    func stop(graceSeconds: Int = 30) -> (seconds: Double, log: String, exitStatus: String) {
        let started = ChildProcess.nowSeconds()
        _ = PodHarness.podman(["pod", "stop", "-t", "\(graceSeconds)", pod], seconds: Double(graceSeconds) + 30)
        let seconds = ChildProcess.nowSeconds() - started
        let log = PodHarness.podman(["logs", container]).output
        let status = inspect(container, "{{.State.ExitCode}}")
        let last = log.split(separator: "\n").last { $0.contains("\"stopped") } ?? "no final line"
        print("PodTests: \(pod) stopped in \(Int(seconds * 1000)) ms, status \(status): \(last)")
        _ = PodHarness.podman(["play", "kube", "--down", file], seconds: 90)
        return (seconds, log, status)
    }

    deinit {
        _ = PodHarness.podman(["play", "kube", "--down", file], seconds: 90)
    }
}

struct PodFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
