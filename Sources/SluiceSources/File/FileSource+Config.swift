public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore

/// How a file's lines are read: as any source's (`auto`, `json`, ...), or as a container
/// runtime's log format, whose message then goes through `auto`.
public enum FileFormat: String, Sendable, CaseIterable {
    case auto, json, logfmt, syslog, plain, cri, docker

    var container: ContainerLogFormat? {
        switch self {
        case .cri: .cri
        case .docker: .docker
        default: nil
        }
    }

    var inner: InputFormat { InputFormat(rawValue: rawValue) ?? .auto }
}

/// What a `file` source reads and how.
public struct FileSourceSettings: Sendable {
    public var include: [String]
    public var exclude: [String] = []
    /// Files present at the first scan that have no checkpoint start at their end.
    public var startAtEnd = false
    public var format: FileFormat = .auto
    public var maxOpenFiles = 1024
    public var globIntervalNanoseconds: UInt64 = 5_000_000_000
    public var rotateWaitNanoseconds: UInt64 = 5_000_000_000
    public var forgetAfterNanoseconds: UInt64 = 86_400_000_000_000
    public var checkpointIntervalNanoseconds: UInt64 = 1_000_000_000
    /// The field naming the file an event came from; empty for none.
    public var fileField = "file"
    public var kubernetesFields = KubernetesFieldNames()
    /// Where checkpoints are kept (`data_dir`).
    public var dataDirectory: String

    public init(include: [String], dataDirectory: String) {
        self.include = include
        self.dataDirectory = dataDirectory
    }
}

extension FileSource {
    /// `type: file`: tails files matching globs, across rotations, resuming after restarts.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `include` | list of globs | required | absolute paths; `*`, `?`, `[...]` within a name, `**` any depth |
    /// | `exclude` | list of globs | none | a glob without `/` is matched against the file name |
    /// | `start_at` | `beginning`, `end` | `beginning` | where files present at start, without a checkpoint, are read from |
    /// | `format` | `auto`, `json`, `logfmt`, `syslog`, `plain`, `cri`, `docker` | `auto` | `cri`/`docker`: container runtime logs |
    /// | `max_open_files` | integer | `1024` | idle files are closed beyond it and reopened by identity |
    /// | `glob_interval` | duration | `5s` | rescans for new files (inotify does the rest) |
    /// | `rotate_wait` | duration | `5s` | a file renamed away is read this long after its last growth |
    /// | `forget_after` | duration | `24h` | checkpoints of files gone this long are dropped |
    /// | `file_field` | string | `file` | the field holding the path; empty for none |
    /// | `kubernetes` | map | on | field names for metadata from `/var/log/pods` and `/var/log/containers` paths (empty disables one) |
    ///
    /// Plus the keys of every source (`SourceSettings`) but `format`. Checkpoints live in
    /// `data_dir`, which the runtime passes in.
    public convenience init(name: String, reading reader: ConfigReader, host: String, dataDirectory: String) {
        var settings = FileSourceSettings(include: reader.stringList("include") ?? [], dataDirectory: dataDirectory)
        if !reader.contains("include") {
            reader.reportInvalid("include", "is required: the files to read, such as [/var/log/app/*.log]")
        }
        for pattern in settings.include where !pattern.hasPrefix("/") {
            reader.reportInvalid("include", "\(pattern): give an absolute path")
        }
        settings.exclude = reader.stringList("exclude") ?? []
        settings.startAtEnd = reader.choice("start_at", default: StartAt.beginning) == .end
        settings.format = reader.choice("format", default: FileFormat.auto)
        settings.maxOpenFiles = reader.int("max_open_files", default: 1024, range: 1...1_000_000)
        settings.globIntervalNanoseconds = reader.duration("glob_interval", default: 5_000_000_000, minimum: 10_000_000)
        settings.rotateWaitNanoseconds = reader.duration("rotate_wait", default: 5_000_000_000)
        settings.forgetAfterNanoseconds = reader.duration("forget_after", default: 86_400_000_000_000, minimum: 1_000_000_000)
        settings.fileField = reader.string("file_field", default: "file")
        if let kubernetes = reader.optionalSection("kubernetes") {
            settings.kubernetesFields = KubernetesFieldNames(reading: kubernetes)
        }
        let common = SourceSettings(reading: reader, format: settings.format.inner)
        self.init(name: name, settings: settings, common: common, host: host)
    }

    enum StartAt: String, CaseIterable {
        case beginning, end
    }
}

extension KubernetesFieldNames {
    /// `kubernetes:` of a `file` source: the field name for each piece of a pod log's path.
    init(reading reader: ConfigReader) {
        self.init(
            namespace: reader.string("namespace", default: Self().namespace),
            pod: reader.string("pod", default: Self().pod),
            podUID: reader.string("pod_uid", default: Self().podUID),
            container: reader.string("container", default: Self().container)
        )
        reader.rejectUnknownKeys()
    }
}

extension FileSource {
    /// `type: file`.
    public static let registration = SourceRegistration(type: "file") {
        FileSource(name: $0, reading: $1, host: $2.host, dataDirectory: $2.dataDirectory)
    }
}
