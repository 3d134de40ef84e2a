import Glibc
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceSources

/// The file source's parts that need no running pipeline: globs, container log lines, pod
/// metadata from paths, fingerprints and the checkpoint file.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct FileSourcePartsTests {
    @Test func globsMatchWithinANameAndAnyDepthWithDoubleStar() {
        let single = FileGlob("/var/log/app/*.log")
        #expect(single.root == "/var/log/app")
        #expect(single.matches("/var/log/app/web.log"))
        #expect(!single.matches("/var/log/app/old/web.log"))
        #expect(!single.matches("/var/log/app/web.log.1"))
        #expect(!single.matches("/var/log/app/.hidden.log"), "a leading dot is not matched by *")
        let deep = FileGlob("/var/log/app/**/*.json")
        #expect(deep.root == "/var/log/app")
        #expect(deep.matches("/var/log/app/x.json"), "** matches no directory too")
        #expect(deep.matches("/var/log/app/a/b/c/x.json"))
        #expect(deep.mayContain(directory: "/var/log/app/a/b"))
        #expect(!FileGlob("/var/log/pods/*/*/*.log").mayContain(directory: "/var/log/other"))
        #expect(FileGlob("/var/log/pods/*/*/*.log").mayContain(directory: "/var/log/pods/ns_pod_uid"))
        let nameOnly = FileGlob("*.gz")
        #expect(nameOnly.matches("/var/log/app/web.log.1.gz"))
        #expect(!nameOnly.matches("/var/log/app/web.log"))
        #expect(FileGlob("/var/log/[ab]?.log").matches("/var/log/a1.log"))
    }

    @Test func criLinesGiveTimeStreamAndTheirPartialFlag() throws {
        var decoder = ContainerLogDecoder(format: .cri)
        let full = "2026-11-27T07:42:18.268123456Z stderr F {\"level\":\"error\",\"msg\":\"boom\"}"
        let decoded = try #require(decode(&decoder, full))
        #expect(decoded.message == #"{"level":"error","msg":"boom"}"#)
        #expect(decoded.stream == .stderr)
        #expect(decoded.time == 1_795_765_338_268)
        #expect(decoded.partial == false)
        let partial = "2026-11-27T07:42:18.268123456Z stdout P part one "
        #expect(decode(&decoder, partial)?.partial == true)
        let empty = "2026-11-27T07:42:18.268123456Z stdout F"
        #expect(decode(&decoder, empty)?.message.count == 0)
        for malformed in ["not a cri line", "2026-11-27T07:42:18Z stdin F x", "2026-11-27T07:42:18Z stdout X x"] {
            #expect(decode(&decoder, malformed) == nil, "\(malformed)")
        }
    }

    @Test func dockerLinesAreUnescapedAndAPartialHasNoNewline() throws {
        var decoder = ContainerLogDecoder(format: .docker)
        let line = #"{"log":"say \"hi\"\tthere \u00e9\n","stream":"stderr","time":"2026-11-27T07:42:18.268123456Z"}"#
        let decoded = try #require(decode(&decoder, line))
        #expect(decoded.message == "say \"hi\"\tthere é")
        #expect(decoded.stream == .stderr)
        #expect(decoded.partial == false)
        #expect(decoded.time == 1_795_765_338_268)
        let partial = #"{"log":"first 16 KiB","stream":"stdout","time":"2026-11-27T07:42:18Z"}"#
        #expect(decode(&decoder, partial)?.partial == true)
        #expect(decode(&decoder, "plain text") == nil)
    }

    @Test func podMetadataComesFromEitherKubeletPath() {
        #expect(KubernetesPath(path: "/var/log/pods/shop_checkout-7d9f_0b1c-22/web/0.log")
            == KubernetesPath(namespace: "shop", pod: "checkout-7d9f", podUID: "0b1c-22", container: "web"))
        let id = String(repeating: "ab", count: 32)
        #expect(KubernetesPath(path: "/var/log/containers/checkout-7d9f_shop_web-\(id).log")
            == KubernetesPath(namespace: "shop", pod: "checkout-7d9f", podUID: nil, container: "web"))
        #expect(KubernetesPath(path: "/var/log/app/web.log") == nil)
        #expect(KubernetesPath(path: "/var/log/pods/not-three-parts/web/0.log") == nil)
        var names = KubernetesFieldNames()
        names.podUID = ""
        let labels = KubernetesPath(namespace: "a", pod: "b", podUID: "c", container: "d").labels(names)
        #expect(labels.map(\.key) == ["k8s.namespace", "k8s.pod", "k8s.container"])
    }

    @Test func checkpointsSurviveARoundTripAndDamageIsSkipped() throws {
        let directory = TemporaryDirectory()
        var saved = FileCheckpoints(dataDirectory: directory.path, sourceName: "app logs")
        let entry = FileCheckpoints.Entry(
            key: FileKey(device: 64769, inode: 1234), fingerprint: FileFingerprint(length: 1024, hash: 0xDEAD_BEEF),
            offset: 987_654, sequence: 4321, stream: 0xFFFF_0000_1234_5679, lastSeenSeconds: 1_796_000_000, size: 1_000_000, finished: false,
            path: "/var/log/a b.log"
        )
        saved.update(entry)
        try saved.save(sourceName: "app logs")
        #expect(saved.path == directory.path + "/files/app_logs.checkpoints")
        var loaded = FileCheckpoints(dataDirectory: directory.path, sourceName: "app logs")
        #expect(loaded.load().isEmpty)
        #expect(loaded.entry(for: entry.key) == entry)
        // A damaged line is skipped and named; the others load.
        let text = try #require(String(validating: try Array(readFile(saved.path)), as: UTF8.self))
        directory.write("files/app_logs.checkpoints", text + "garbage line\n")
        var damaged = FileCheckpoints(dataDirectory: directory.path, sourceName: "app logs")
        let problems = damaged.load()
        #expect(problems.count == 1 && problems[0].contains("damaged"))
        #expect(damaged.entry(for: entry.key) == entry)
        loaded.forget(olderThan: 60, now: entry.lastSeenSeconds + 61)
        #expect(loaded.entry(for: entry.key) == nil)
    }

    /// A checkpoint file of the first version (without size and state) still loads: every file
    /// in it counts as done (read to its end), so an upgrade never warns about old files.
    @Test func aFirstVersionCheckpointFileLoadsWithEveryFileDone() throws {
        let directory = TemporaryDirectory()
        mkdir(directory.path + "/files", 0o755)
        directory.write("files/app.checkpoints", "sluice file checkpoints v1\n64769 1234 1024 deadbeef 987654 4321 ffff000012345679 1796000000 /var/log/a b.log\n")
        var loaded = FileCheckpoints(dataDirectory: directory.path, sourceName: "app")
        #expect(loaded.load().isEmpty)
        let entry = try #require(loaded.entry(for: FileKey(device: 64769, inode: 1234)))
        #expect(entry.offset == 987_654 && entry.size == 987_654 && entry.finished && entry.path == "/var/log/a b.log")
    }

    @Test func aFingerprintTellsAReusedInodeFromTheFileItWasTakenOf() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("f.log", "first line of the original file\n")
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        let fingerprint = try #require(FileFingerprint.read(descriptor))
        #expect(fingerprint.length == 32)
        #expect(fingerprint.matches(descriptor))
        let other = directory.write("g.log", "first line of another file....\n\n")
        let otherDescriptor = open(other, O_RDONLY)
        defer { close(otherDescriptor) }
        #expect(!fingerprint.matches(otherDescriptor))
        let short = directory.write("h.log", "first")
        let shortDescriptor = open(short, O_RDONLY)
        defer { close(shortDescriptor) }
        #expect(!fingerprint.matches(shortDescriptor), "a file shorter than the fingerprint is not the same file")
    }

    private struct Decoded: Equatable {
        let message: String
        let stream: ContainerLogLine.Stream
        let time: Int64?
        let partial: Bool
    }

    private func decode(_ decoder: inout ContainerLogDecoder, _ text: String) -> Decoded? {
        Array(text.utf8).withUnsafeBytes { bytes in
            decoder.decode(bytes).map { Decoded(message: String(decoding: $0.message, as: UTF8.self), stream: $0.stream, time: $0.timestampMilliseconds, partial: $0.isPartial) }
        }
    }

    private func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return Array(bytes[0..<max(0, count)])
    }
}
