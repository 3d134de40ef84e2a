/// The field names a `file` source gives the pieces of a Kubernetes log path; an empty name
/// leaves that piece out.
public struct KubernetesFieldNames: Sendable, Equatable {
    public var namespace = "k8s.namespace"
    public var pod = "k8s.pod"
    public var podUID = "k8s.pod_uid"
    public var container = "k8s.container"

    public init() {}

    public init(namespace: String, pod: String, podUID: String, container: String) {
        self.namespace = namespace
        self.pod = pod
        self.podUID = podUID
        self.container = container
    }
}

/// What a container log's path says about its pod, read from the path alone (no API calls):
///
/// - `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log` (the kubelet's layout);
/// - `/var/log/containers/<pod>_<namespace>_<container>-<container id>.log` (its symlinks).
///
/// Namespaces and pod names are DNS labels and subdomains, so they hold no `_`.
public struct KubernetesPath: Sendable, Equatable {
    public var namespace: String
    public var pod: String
    public var podUID: String?
    public var container: String

    public init(namespace: String, pod: String, podUID: String?, container: String) {
        self.namespace = namespace
        self.pod = pod
        self.podUID = podUID
        self.container = container
    }

    /// The pod of the log at `path`; nil for a path of neither layout.
    public init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2, parts[parts.count - 1].hasSuffix(".log") else { return nil }
        if parts.count >= 4, parts[parts.count - 4] == "pods" {
            let pod = parts[parts.count - 3].split(separator: "_", omittingEmptySubsequences: false)
            guard pod.count == 3, pod.allSatisfy({ !$0.isEmpty }) else { return nil }
            self.init(namespace: String(pod[0]), pod: String(pod[1]), podUID: String(pod[2]), container: parts[parts.count - 2])
            return
        }
        guard parts[parts.count - 2] == "containers" else { return nil }
        let name = parts[parts.count - 1].dropLast(".log".count)
        let pieces = name.split(separator: "_", omittingEmptySubsequences: false)
        guard pieces.count == 3, let dash = pieces[2].lastIndex(of: "-") else { return nil }
        let container = pieces[2][..<dash]
        guard !pieces[0].isEmpty, !pieces[1].isEmpty, !container.isEmpty else { return nil }
        self.init(namespace: String(pieces[1]), pod: String(pieces[0]), podUID: nil, container: String(container))
    }

    /// The pieces as labels under `names`.
    func labels(_ names: KubernetesFieldNames) -> [(key: String, value: String)] {
        let all: [(String, String?)] = [
            (names.namespace, namespace), (names.pod, pod), (names.podUID, podUID), (names.container, container),
        ]
        return all.compactMap { key, value in
            guard !key.isEmpty, let value else { return nil }
            return (key, value)
        }
    }
}
