public import SluiceComponentConfig
public import SluiceConfig
import SluiceCore

extension ArchiveSettings {
    /// `type: archive`.
    ///
    /// | key | type | default | meaning |
    /// | --- | --- | --- | --- |
    /// | `path` | template | required | strftime fields (UTC) and `{source}`, `{host}`; directories are created |
    /// | `gzip_level` | 1–9 | `6` | zlib level |
    /// | `flush_interval` | duration | `1s` | the longest an event waits before it is in a finished, synced member |
    /// | `rotate.max_bytes` | size | `100MiB` | bytes on disk; `0` for no limit |
    /// | `rotate.max_age` | duration | `1h` | `0s` for no limit |
    /// | `retention.max_files` | integer | `0` (keep all) | newest files kept per source |
    /// | `retention.max_age` | duration | `0s` (keep all) | older files are deleted |
    /// | `compression_threads` | integer | online cores | members compressed in parallel |
    /// | `file_mode` | octal | `"0640"` | permissions of new files |
    public init(reading reader: ConfigReader) {
        let pathText = reader.requiredString("path", hint: "a file template such as /var/log/sluice/{source}-%Y%m%dT%H%M%S.ndjson.gz")
        var template = try? PathTemplate("archive.ndjson.gz")
        do {
            if !pathText.isEmpty { template = try PathTemplate(pathText) }
        } catch {
            reader.reportInvalid("path", error.description)
        }
        let level = reader.int("gzip_level", default: 6, range: 1...9)
        let flush = reader.duration("flush_interval", default: 1_000_000_000, minimum: 10_000_000)
        let rotate = reader.section("rotate")
        let maxBytes = rotate.size("max_bytes", default: 100 << 20, range: 0...(1 << 50))
        let maxAge = rotate.duration("max_age", default: 3_600_000_000_000)
        rotate.rejectUnknownKeys()
        let retention = reader.section("retention")
        let maxFiles = retention.int("max_files", default: 0, range: 0...1_000_000)
        let retentionAge = retention.duration("max_age", default: 0)
        retention.rejectUnknownKeys()
        self.init(
            template: template!, gzipLevel: level, flushIntervalNanoseconds: flush,
            rotateMaxBytes: maxBytes > 0 ? maxBytes : nil,
            rotateMaxAgeMilliseconds: maxAge > 0 ? Int64(maxAge / 1_000_000) : nil,
            retentionMaxFiles: maxFiles > 0 ? maxFiles : nil,
            retentionMaxAgeMilliseconds: retentionAge > 0 ? Int64(retentionAge / 1_000_000) : nil,
            compressionThreads: reader.int("compression_threads", default: ArchiveSettings.defaultCompressionThreads, range: 1...64),
            fileMode: reader.fileMode("file_mode", default: 0o640)
        )
    }
}

extension ArchiveSink {
    /// `type: archive`.
    public static let registration = SinkRegistration(type: "archive") { name, reader, context in
        let settings = ArchiveSettings(reading: reader)
        return SinkBlueprint { .acknowledging { ArchiveSink(name: name, settings: settings, host: context.host, report: $0) } }
    }
}
