import Glibc
import SluiceCore
import Testing
import SluiceTesting

@testable import SluiceSinks

private func batch(_ lines: [String]) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "s"))
    var builder = EventBatchBuilder()
    for line in lines {
        let bytes = Array(line.utf8)
        bytes.withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct ConsoleSinkTests {
    @Test func writesTheBatchAsNDJSON() throws {
        var descriptors: [Int32] = [-1, -1]
        #expect(pipe(&descriptors) == 0)
        defer { close(descriptors[0]) }
        let sink = ConsoleSink(descriptor: descriptors[1])
        try sink.write(batch(["one", #"{"a":1}"#]), endOfRun: true)
        close(descriptors[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(descriptors[0], $0.baseAddress, $0.count) }
        let lines = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains(#""message":"one""#))
        #expect(lines[1].contains(#""a":1"#))
    }

    @Test func aClosedOutputIsAPermanentError() throws {
        var descriptors: [Int32] = [-1, -1]
        #expect(pipe(&descriptors) == 0)
        close(descriptors[0])
        defer { close(descriptors[1]) }
        signal(SIGPIPE, SIG_IGN)
        let sink = ConsoleSink(descriptor: descriptors[1])
        do {
            try sink.write(batch(["x"]), endOfRun: true)
            Issue.record("expected an error")
        } catch let error as SinkError {
            #expect(error.isPermanent)
            #expect(error.dropReason == .outputClosed)
            #expect(error.description.contains("EPIPE"))
        }
    }

    @Test func aFullDiskIsATransientErrorThatNamesTheErrno() throws {
        let descriptor = open("/dev/full", O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        do {
            try ConsoleSink(descriptor: descriptor).write(batch(["x"]), endOfRun: true)
            Issue.record("expected an error")
        } catch let error as SinkError {
            #expect(!error.isPermanent)
            #expect(error.description.contains("errno \(ENOSPC)"))
        }
    }

    /// The blackhole writes nothing, but what it takes counts as delivered.
    @Test func theBlackholeTakesEverythingAndCountsIt() {
        let pipeline = Pipeline(
            sources: [ScriptedSource(name: "app", lines: ["x", "y", "z"])],
            sinks: [Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "void", inputs: nil, whenFull: .block), sink: BlackholeSink())],
            ringCapacity: 8
        )
        pipeline.start()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        let counters = pipeline.sinkRunners[0].counters
        #expect(counters.events.current == 3)
        #expect(counters.bytes.current > 0)
        #expect(counters.droppedTotal == 0)
    }
}
