import Foundation
import Glibc
import SluiceCore
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceSinks

/// A wall clock the test moves by hand.
final class TestClock: Sendable {
    private let milliseconds = Atomic<Int64>(1_717_200_000_000)  // 2024-06-01T00:00:00Z
    var now: Int64 { milliseconds.load(ordering: .relaxed) }
    func advance(_ amount: Int64) { milliseconds.add(amount, ordering: .relaxed) }
}

private func batch(_ lines: [String], source: Int = 0) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "s"))
    encoder.setReadTime(1_717_200_000_000)
    var builder = EventBatchBuilder()
    for line in lines {
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: source, builder: builder, sourceName: ["app", "db"][source])
}

private func lines(_ range: Range<Int>) -> [String] {
    range.map { #"{"n":\#($0),"pad":"\#(String(repeating: "x", count: 100))"}"# }
}

/// `gzip -dc` of the files, in name order.
private func gunzip(_ paths: [String]) throws -> String {
    let gzip = try ChildProcess(executable: "/bin/gzip", arguments: ["-dc"] + paths)
    #expect(gzip.wait().exitStatus == 0)
    return gzip.standardOutput
}

private func gzipTest(_ paths: [String]) throws -> Bool {
    try ChildProcess(executable: "/bin/gzip", arguments: ["-t"] + paths).wait().exitStatus == 0
}

private func files(in directory: String) -> [String] {
    ArchiveRetention.entries(of: directory).sorted().map { directory + "/" + $0 }
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct ArchiveSinkTests {
    let directory = TemporaryDirectory()

    private func sink(
        _ template: String, clock: TestClock = TestClock(), threads: Int = 2, chunkBytes: Int = 64 << 10,
        maxBytes: Int? = nil, maxAge: Int64? = nil, maxFiles: Int? = nil, flushInterval: UInt64 = 1_000_000_000
    ) throws -> ArchiveSink {
        let settings = ArchiveSettings(
            template: try PathTemplate(directory.path + "/" + template), gzipLevel: 6, flushIntervalNanoseconds: flushInterval,
            rotateMaxBytes: maxBytes, rotateMaxAgeMilliseconds: maxAge, retentionMaxFiles: maxFiles,
            compressionThreads: threads, chunkBytes: chunkBytes
        )
        let report = DeliveryReport(counters: SinkCounters(name: "archive"), shutdown: ShutdownSignal())
        return ArchiveSink(name: "archive", settings: settings, host: "h", report: report, now: { clock.now })
    }

    @Test(arguments: [1, 2])
    func whatIsWrittenComesBackByteIdenticalThroughStockGzip(threads: Int) throws {
        let archive = try sink("{source}-%Y%m%dT%H%M%S.ndjson.gz", threads: threads)
        var expected = ""
        for start in stride(from: 0, to: 20_000, by: 500) {
            let events = batch(lines(start..<(start + 500)))
            expected += String(decoding: events.bytes, as: UTF8.self)
            try archive.write(events, endOfRun: true)
        }
        try archive.finish()
        let written = files(in: directory.path)
        #expect(written == [directory.path + "/app-20240601T000000.ndjson.gz"])
        #expect(try gunzip(written) == expected)
        #expect(try gzipTest(written))
        let verified = ArchiveVerifier.verify(written[0])
        #expect(verified.isIntact)
        #expect(verified.events == 20_000)
        #expect(verified.members > 10, "1 MiB+ of events in 64 KiB chunks is many members")
    }

    @Test func eachSourceHasItsOwnFile() throws {
        let archive = try sink("{source}.ndjson.gz")
        try archive.write(batch(["a"], source: 0), endOfRun: true)
        try archive.write(batch(["b"], source: 1), endOfRun: true)
        try archive.finish()
        #expect(files(in: directory.path).map { $0.split(separator: "/").last.map(String.init) } == ["app.ndjson.gz", "db.ndjson.gz"])
    }

    @Test func filesRotateAtTheirSizeAndNeverOverwrite() throws {
        let archive = try sink("app-%Y%m%dT%H%M%S.ndjson.gz", chunkBytes: 16 << 10, maxBytes: 8 << 10)
        for start in stride(from: 0, to: 6_000, by: 200) {
            try archive.write(batch(lines(start..<(start + 200))), endOfRun: true)
        }
        try archive.finish()
        // Members still being compressed when a file reaches its size land in it too, so a file
        // may pass max_bytes by those; rotation still happens.
        let written = files(in: directory.path)
        #expect(written.count >= 2)
        #expect(written.allSatisfy { $0.contains("app-20240601T000000") }, "same second: collision suffixes")
        #expect(try gzipTest(written))
        #expect(written.map { ArchiveVerifier.verify($0).events }.reduce(0, +) == 6_000)
    }

    @Test func filesRotateAtTheirAgeAndWhenTheRenderedPathChanges() throws {
        let clock = TestClock()
        let byAge = try sink("age-%Y%m%dT%H%M%S.ndjson.gz", clock: clock, maxAge: 60_000)
        try byAge.write(batch(["first"]), endOfRun: true)
        clock.advance(61_000)
        try byAge.flush()
        try byAge.write(batch(["second"]), endOfRun: true)
        try byAge.finish()
        let hourly = try sink("hour-%Y%m%d%H.ndjson.gz", clock: clock)
        try hourly.write(batch(["in the first hour"]), endOfRun: true)
        clock.advance(3_600_000)
        try hourly.write(batch(["in the next hour"]), endOfRun: true)
        try hourly.finish()
        let names = files(in: directory.path).map { String($0.split(separator: "/").last!) }
        #expect(names == ["age-20240601T000000.ndjson.gz", "age-20240601T000101.ndjson.gz", "hour-2024060100.ndjson.gz", "hour-2024060101.ndjson.gz"])
    }

    @Test func retentionKeepsTheNewestFiles() throws {
        let clock = TestClock()
        let archive = try sink("keep-%Y%m%dT%H%M%S.ndjson.gz", clock: clock, maxAge: 1_000, maxFiles: 2)
        directory.write("unrelated.txt", "not an archive")
        for round in 0..<5 {
            try archive.write(batch(["round \(round)"]), endOfRun: true)
            clock.advance(2_000)
            try archive.flush()
        }
        try archive.finish()
        let names = files(in: directory.path).map { String($0.split(separator: "/").last!) }
        #expect(names.filter { $0.hasPrefix("keep-") }.count == 2)
        #expect(names.contains("unrelated.txt"))
    }

    @Test func anExistingFileIsNeverOverwritten() throws {
        let taken = directory.write("taken.ndjson.gz", "precious")
        let archive = try sink("taken.ndjson.gz")
        try archive.write(batch(["new"]), endOfRun: true)
        try archive.finish()
        #expect(try String(contentsOfFile: taken, encoding: .utf8) == "precious")
        #expect(try gunzip([directory.path + "/taken-1.ndjson.gz"]).contains("\"message\":\"new\""))
    }

    @Test func aPathThatCannotBeCreatedIsAClearTransientError() throws {
        directory.write("not-a-directory", "x")
        let archive = try sink("not-a-directory/app.ndjson.gz")
        do {
            try archive.write(batch(["x"]), endOfRun: true)
            Issue.record("expected an error")
        } catch let error as SinkError {
            #expect(!error.isPermanent)
            #expect(error.description.contains(directory.path + "/not-a-directory"))
            #expect(error.description.contains("errno \(ENOTDIR)"))
        }
        try archive.finish()
    }

    @Test func aDirectoryRemovedWhileRunningIsCreatedAgainAndTheRestIsWritten() throws {
        let archive = try sink("gone/app.ndjson.gz", flushInterval: 1_000_000)
        try archive.write(batch(lines(0..<100)), endOfRun: true)
        #expect(Eventually.wait {
            try? archive.flush()
            return (try? FileManager.default.attributesOfItem(atPath: directory.path + "/gone/app.ndjson.gz")[.size] as? Int) ?? 0 > 0
        })
        #expect(try ChildProcess(executable: "/bin/rm", arguments: ["-rf", directory.path + "/gone"]).wait().exitStatus == 0)
        try archive.write(batch(lines(100..<200)), endOfRun: true)
        try archive.finish()
        let verified = ArchiveVerifier.verify(directory.path + "/gone/app.ndjson.gz")
        #expect(verified.isIntact)
        #expect(verified.events == 100, "the events written after the directory vanished")
    }

    @Test func templatesAreChecked() throws {
        #expect(throws: TemplateError.self) { try PathTemplate("/var/log/") }
        #expect(throws: TemplateError.self) { try PathTemplate("/var/log/{pod}.gz") }
        #expect(try PathTemplate("a-%Y%m%d.gz").rotatesOnPathChange)
        #expect(try !PathTemplate("a-%Y%m%dT%H%M%S.gz").rotatesOnPathChange)
        #expect(try !PathTemplate("a.gz").rotatesOnPathChange)
        #expect(try PathTemplate("/x/{source}-%Y.ndjson.gz").matchesFileName("app-2024-3.ndjson.gz", source: "app", host: "h"))
        #expect(try !PathTemplate("/x/{source}-%Y.ndjson.gz").matchesFileName("db-2024.ndjson.gz", source: "app", host: "h"))
    }
}
