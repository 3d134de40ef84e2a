import Foundation
import SluiceBuffer
import SluiceConfig
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceKit

private func load(_ files: [String] = [], environment: [String: String] = [:]) -> Result<RuntimeConfiguration, ConfigurationError> {
    Result { () throws(ConfigurationError) in try RuntimeConfiguration.load(files: files, environment: environment, host: "test") }
}

private func problems(_ result: Result<RuntimeConfiguration, ConfigurationError>) -> [String] {
    if case .failure(let error) = result { return error.issues.map(\.description) }
    return []
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct RuntimeConfigurationTests {
    let directory = TemporaryDirectory()

    @Test func theBuiltInDefaultIsStdinToConsole() throws {
        let configuration = try load().get()
        #expect(configuration.sources.map(\.type) == ["stdin"])
        #expect(configuration.sinks.map(\.type) == ["console"])
        #expect(configuration.sinks[0].configuration.whenFull == .block)
        #expect(configuration.gracePeriodNanoseconds == 10_000_000_000)
    }

    @Test func sluiceConfigNamesTheFileWhenNoFlagDoes() throws {
        let file = directory.write("c.yaml", "sources: { in: { type: stdin } }\nsinks: { out: { type: blackhole } }\n")
        let configuration = try load(environment: ["SLUICE_CONFIG": file]).get()
        #expect(configuration.sinks.map(\.name) == ["out"])
    }

    @Test func filesLayerInOrderAndTheEnvironmentSwitchesSinks() throws {
        let base = directory.write("base.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              console: { type: console }
              hole: { type: blackhole, enabled: false }
            """)
        let prod = directory.write("prod.yaml", "sinks: { hole: { enabled: true } }\nbuffer: { max_bytes: 8MiB }\n")
        let configuration = try load([base, prod], environment: ["SLUICE_SINKS_CONSOLE_ENABLED": "false"]).get()
        #expect(configuration.sinks.map(\.name) == ["hole"])
        #expect(configuration.bufferMaxBytes == 8 << 20)
        #expect(configuration.ringCapacity == 16)
    }

    @Test func everyProblemIsReportedAtOnce() {
        let file = directory.write("bad.yaml", """
            sources:
              app: { type: stdn }
              other: { type: stdin, format: jsno }
            sinks:
              out: { type: console, inputs: [ap], when_full: sometimes }
            shutdown: { grace_perod: 5s }
            """)
        let found = problems(load([file]))
        #expect(found.contains { $0.hasPrefix("sources.app.type: unknown type \"stdn\"") && $0.contains("did you mean \"stdin\"") })
        #expect(found.contains { $0.hasPrefix("sources.other.format:") && $0.contains("did you mean \"json\"") })
        #expect(found.contains { $0.hasPrefix("sinks.out.inputs: no source or transform is named \"ap\"") && $0.contains("did you mean \"app\"") })
        #expect(found.contains { $0.hasPrefix("sinks.out.when_full:") })
        #expect(found.contains { $0.hasPrefix("shutdown.grace_perod: unknown key") && $0.contains("grace_period") })
        #expect(found.allSatisfy { $0.contains("bad.yaml:") })
    }

    @Test func aDisabledSinkToleratesUnsetVariablesButIsStillChecked() {
        let file = directory.write("d.yaml", """
            sources: { app: { type: stdin } }
            sinks:
              console: { type: console }
              off: { type: blackhole, enabled: false, inputs: ["${NOT_SET}"], colour: blue }
            """)
        // The unset variable is skipped (the sink will not run); the misspelt key is not.
        let found = problems(load([file]))
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("sinks.off.colour: unknown key") == true)
    }

    @Test func aConfigurationWithoutAnEnabledSinkIsRejected() {
        let file = directory.write("e.yaml", "sources: { app: { type: stdin } }\nsinks: { c: { type: console, enabled: false } }\n")
        #expect(problems(load([file])).contains { $0.hasPrefix("sinks: no sink is enabled") })
    }

    @Test func aMissingFileIsAProblemNotACrash() {
        #expect(problems(load(["/nonexistent/sluice.yaml"])).first?.contains("cannot read configuration file /nonexistent/sluice.yaml") == true)
    }

    @Test func theShippedDefaultsFileIsValidAndMatchesTheBuiltInDefault() throws {
        let shipped = try load([RepositoryFiles.path("Config/sluice.yaml")]).get()
        let builtIn = try load().get()
        #expect(shipped.context.effective.render() == builtIn.context.effective.render())
    }

    /// The development example serves pipe mode and wrap mode alike: in wrap mode its `app`
    /// source (stdin in pipe mode) describes the wrapped program.
    @Test func theDevelopmentExampleIsValidInPipeAndWrapMode() throws {
        let file = RepositoryFiles.path("Config/examples/development.yaml")
        let development = try load([file]).get()
        #expect(development.sources.map(\.type) == ["stdin"])
        #expect(development.sinks.map(\.name) == ["console", "alerts"])
        #expect(development.metricsAddress == nil)
        let wrapped = try Result { () throws(ConfigurationError) in
            try RuntimeConfiguration.load(files: [file], environment: [:], wrappedCommand: ["app", "--port", "8080"], host: "test")
        }.get()
        #expect(wrapped.sources.map(\.type) == ["exec"])
        #expect(wrapped.wrappedSourceIndex == 0)
        #expect(wrapped.context.effective.render().contains("env: development"))
    }

    /// In wrap mode Sluice's stdin belongs to the wrapped program: a stdin source of another
    /// name is refused, saying so (before, it raced the app for every line).
    @Test func wrapModeRefusesAStdinSourceOfItsOwn() throws {
        let file = directory.write("both.yaml", "sources: { stdin: { type: stdin } }\nsinks: { out: { type: console } }\n")
        let result = Result { () throws(ConfigurationError) in
            try RuntimeConfiguration.load(files: [file], environment: [:], wrappedCommand: ["app"], host: "test")
        }
        #expect(problems(result).contains { $0.hasPrefix("sources.stdin.type") && $0.contains("belongs to the wrapped program") }, "\(problems(result))")
    }

    /// A `SLUICE_` variable that a loaded file interpolates is the user's own, not an override
    /// of a key (before: "matches no configuration key", exit 78); a misspelt override is still
    /// refused with the key it resembles.
    @Test func aSluiceVariableAFileInterpolatesIsNotAnOverride() throws {
        let file = RepositoryFiles.path("Config/examples/production.yaml")
        var environment = [
            "SERVICE_NAME": "checkout", "ELASTICSEARCH_URL": "https://es.internal:9200", "ELASTICSEARCH_API_KEY": "k",
            "ALERT_WEBHOOK_URL": "https://hooks.example/T0", "SLUICE_DATA_DIR": directory.path + "/data", "SLUICE_FIFO": "/run/app.fifo",
        ]
        #expect(problems(load([file], environment: environment)) == [])
        environment["SLUICE_SINKS_ARCHIVE_GZIP_LEVLE"] = "1"
        #expect(problems(load([file], environment: environment)).contains { $0.contains("did you mean SLUICE_SINKS_ARCHIVE_GZIP_LEVEL?") })
    }

    /// A pipe serves metrics only when asked to (two `app | sluice` at once must not fight over a
    /// port); a sidecar or a wrapped app serves them by default.
    @Test func aPipeServesMetricsOnlyWhenAskedTo() throws {
        #expect(try load().get().metricsAddress == nil)
        #expect(try load(environment: ["PORT": "9102"]).get().metricsAddress == "127.0.0.1:9102")
        #expect(try load(environment: ["SLUICE_METRICS_ENABLED": "true"]).get().metricsAddress == "127.0.0.1:9880")
        #expect(try load(environment: ["SLUICE_METRICS_ADDRESS": "127.0.0.1:0"]).get().metricsAddress == "127.0.0.1:0")
        let sidecar = directory.write("sidecar.yaml", "sources: { net: { type: tcp } }\nsinks: { out: { type: console } }\n")
        #expect(try load([sidecar]).get().metricsAddress == "127.0.0.1:9880")
        let wrapped = try Result { () throws(ConfigurationError) in
            try RuntimeConfiguration.load(files: [], environment: [:], wrappedCommand: ["app"], host: "test")
        }.get()
        #expect(wrapped.metricsAddress == "127.0.0.1:9880")
    }

    @Test func theProductionExampleTakesEverySecretFromTheEnvironment() throws {
        let file = RepositoryFiles.path("Config/examples/production.yaml")
        let missing = problems(load([file], environment: ["SLUICE_DATA_DIR": directory.path + "/data"]))
        #expect(missing.count == 4)
        for variable in ["SERVICE_NAME", "ELASTICSEARCH_URL", "ELASTICSEARCH_API_KEY", "ALERT_WEBHOOK_URL"] {
            #expect(missing.contains { $0.contains("(variable \(variable))") })
        }
        let environment = [
            "SERVICE_NAME": "checkout", "ELASTICSEARCH_URL": "https://es.internal:9200", "ELASTICSEARCH_API_KEY": "k3y-s3cret",
            "ALERT_WEBHOOK_URL": "https://hooks.example/T0/B0/s3cret", "PORT": "9102", "SLUICE_DATA_DIR": directory.path + "/data",
        ]
        let production = try load([file], environment: environment).get()
        #expect(production.sinks.map(\.name) == ["archive", "search", "alerts"])
        #expect(production.sinks[1].diskBuffer == DiskBufferSettings(maxBytes: 2 << 30, sync: .interval, whenFull: .dropOldest))
        #expect(production.dataDirectory == directory.path + "/data")
        #expect(production.metricsAddress == "0.0.0.0:9102")
        let printed = production.context.effective.render()
        #expect(!printed.contains("s3cret"))
        #expect(printed.contains("api_key: <redacted>"))
        var withoutIndexer = environment
        withoutIndexer["ELASTICSEARCH_URL"] = nil
        withoutIndexer["ELASTICSEARCH_API_KEY"] = nil
        withoutIndexer["SLUICE_SINKS_SEARCH_ENABLED"] = "false"
        #expect(try load([file], environment: withoutIndexer).get().sinks.map(\.name) == ["archive", "alerts"])
    }

    /// The configurations inside the Kubernetes examples' ConfigMaps.
    @Test func theKubernetesExamplesConfigurationsAreValid() throws {
        let environment = ["POD_NAME": "p", "POD_NAMESPACE": "n", "ELASTICSEARCH_URL": "https://es:9200", "ELASTICSEARCH_API_KEY": "k", "ALERT_WEBHOOK_URL": "https://hooks.example/x"]
        let sidecar = directory.write("sidecar.yaml", try Self.configMapConfiguration("Config/deploy/kubernetes/sidecar-fifo.yaml"))
        #expect(try load([sidecar], environment: environment).get().sources.map(\.type) == ["fifo"])
        let wrap = directory.write("wrap.yaml", try Self.configMapConfiguration("Config/deploy/kubernetes/wrap-entrypoint.yaml"))
        let wrapped = try Result { () throws(ConfigurationError) in
            try RuntimeConfiguration.load(files: [wrap], environment: environment, wrappedCommand: ["/app/billing"], host: "test")
        }.get()
        #expect(wrapped.wrappedSourceIndex == 0)
        #expect(wrapped.sinks.map(\.name) == ["console", "alerts"])
        let node = directory.write("node.yaml", try Self.configMapConfiguration("Config/deploy/kubernetes/daemonset-node-logs.yaml"))
        let daemonSet = try load([node], environment: environment.merging(["SLUICE_DATA_DIR": directory.path + "/data", "NODE_NAME": "n1"]) { $1 }).get()
        #expect(daemonSet.sources.map(\.type) == ["file"])
        #expect(daemonSet.usesDataDirectory)
    }

    /// A transform over plain-text or syslog events may not name a field they never have.
    @Test func aFieldATypedSourceNeverHasIsNamed() throws {
        let file = directory.write("typed.yaml", """
            sources:
              app: { type: stdin, format: plain, labels: { team: x } }
              logs: { type: udp, address: "127.0.0.1:5514", format: syslog }
              json: { type: tcp, address: "127.0.0.1:5170" }
            transforms:
              t: { inputs: [app], steps: [{ where: 'status >= 500 and team == "x"' }, { set: { env: a } }, { dedupe: { fields: [env, message] } }] }
              s: { inputs: [logs], steps: [{ remove: [appname, nope] }] }
              free: { inputs: [json], steps: [{ where: 'status >= 500' }] }
            sinks: { out: { type: console, inputs: [t, s, free] } }
            """)
        let found = problems(load([file], environment: [:]))
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.hasPrefix("transforms.t.steps.0.where: field \"status\" can never exist: source \"app\" is read as plain") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("transforms.s.steps.0.remove: field \"nope\" can never exist") }, "\(found)")
    }

    /// A file source's mistakes are named by key before anything starts.
    @Test func aFileSourcesProblemsAreNamed() throws {
        let file = directory.write("files.yaml", """
            data_dir: \(directory.path)/data
            sources:
              logs: { type: file, include: [relative/*.log], start_at: middle, format: cri2 }
              none: { type: file }
            """)
        let found = problems(load([file], environment: [:]))
        #expect(found.contains { $0.contains("sources.logs.include") && $0.contains("absolute") }, "\(found)")
        #expect(found.contains { $0.contains("sources.logs.start_at") }, "\(found)")
        #expect(found.contains { $0.contains("sources.logs.format") && $0.contains("cri") }, "\(found)")
        #expect(found.contains { $0.contains("sources.none.include") && $0.contains("required") }, "\(found)")
        let notADirectory = directory.write("not-a-directory", "")
        let unwritable = directory.write("unwritable.yaml", "data_dir: \(notADirectory)\nsources: { logs: { type: file, include: [/var/log/*.log] } }\n")
        #expect(problems(load([unwritable], environment: [:])).contains { $0.contains("data_dir") }, "a file source needs data_dir for its checkpoints")
    }

    /// The block under `sluice.yaml: |`, unindented.
    private static func configMapConfiguration(_ relative: String) throws -> String {
        let text = try String(contentsOfFile: RepositoryFiles.path(relative), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasSuffix("sluice.yaml: |") }) else { return "" }
        return lines[(start + 1)...].prefix { $0.hasPrefix("    ") || $0.isEmpty }.map { $0.dropFirst(4) }.joined(separator: "\n")
    }

    @Test func aSinksDiskBufferIsReadWithItsDefaultsAndItsWhenFull() throws {
        let file = directory.write("disk.yaml", """
            data_dir: \(directory.path)/data
            sources: { app: { type: stdin } }
            sinks:
              out: { type: console, when_full: drop_newest, buffer: { type: disk, max_bytes: 64MiB, sync: always } }
              plain: { type: blackhole }
            """)
        let configuration = try load([file]).get()
        #expect(configuration.sinks[0].diskBuffer == DiskBufferSettings(maxBytes: 64 << 20, sync: .always, whenFull: .dropNewest))
        #expect(configuration.sinks[1].diskBuffer == nil)
        #expect(configuration.dataDirectory == directory.path + "/data")
        #expect(configuration.context.effective.render().contains("buffer:\n      type: disk\n      max_bytes: 64MiB"))
    }

    @Test func diskBufferKeysNeedADiskBufferAndAWritableDataDir() throws {
        let memory = directory.write("memory.yaml", "sources: { app: { type: stdin } }\nsinks: { out: { type: console, buffer: { max_bytes: 1GiB } } }\n")
        #expect(problems(load([memory])).contains { $0.contains("sinks.out.buffer.max_bytes") && $0.contains("set type: disk") })
        let blocked = directory.write("file-in-the-way", "")
        let unwritable = directory.write("unwritable.yaml", """
            data_dir: \(blocked)
            sources: { app: { type: stdin } }
            sinks: { out: { type: console, buffer: { type: disk } } }
            """)
        #expect(problems(load([unwritable])).contains { $0.hasPrefix("data_dir") && $0.contains("is not a directory") })
        let tiny = directory.write("tiny.yaml", "sources: { app: { type: stdin } }\nsinks: { out: { type: console, buffer: { type: disk, max_bytes: 1MiB } } }\n")
        #expect(problems(load([tiny], environment: ["SLUICE_DATA_DIR": directory.path])).contains { $0.contains("sinks.out.buffer.max_bytes") })
    }

    /// `buffer.max_bytes` was the ring's size before sinks had buffers: still read, with a notice.
    @Test func theRingsOldKeyStillWorksWithANotice() throws {
        let old = directory.write("old.yaml", "sources: { app: { type: stdin } }\nsinks: { out: { type: console } }\nbuffer: { max_bytes: 32MiB }\n")
        let configuration = try load([old]).get()
        #expect(configuration.bufferMaxBytes == 32 << 20)
        #expect(configuration.context.notices.contains { $0.contains("ring.max_bytes") })
        let new = directory.write("new.yaml", "sources: { app: { type: stdin } }\nsinks: { out: { type: console } }\nring: { max_bytes: 16MiB }\n")
        let current = try load([new]).get()
        #expect(current.bufferMaxBytes == 16 << 20 && current.context.notices.isEmpty)
    }

}

/// Files of this repository, found from this source file's location.
enum RepositoryFiles {
    static func path(_ relative: String, file: String = #filePath) -> String {
        var root = file
        for _ in 0..<3 { root = String(root[..<root.lastIndex(of: "/")!]) }
        return root + "/" + relative
    }
}
