import Glibc
import SluiceCore
import SluiceSync
import SluiceTesting
import Testing

@testable import SluiceSources

/// The file source in a pipeline, in process (so the thread sanitizer sees its threads): its
/// checkpoint moves only past what the sinks have taken.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct FileSourcePipelineTests {
    @Test func theCheckpointWaitsForTheSinksAndThenCatchesUp() throws {
        let directory = TemporaryDirectory()
        mkdir(directory.path + "/logs", 0o755)
        let text = (0..<1_000).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n"
        directory.write("logs/app.log", text)
        let source = FileSource(
            name: "app", settings: FileSourceSettings(include: [directory.path + "/logs/*.log"], dataDirectory: directory.path + "/data"),
            common: SourceSettings(), host: "h"
        )
        let stuck = StuckSink()
        let pipeline = Pipeline(
            sources: [source], sinks: [Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "stuck", inputs: nil, whenFull: .block), sink: stuck)],
            ringCapacity: 4
        )
        pipeline.start()
        let checkpointed = {
            var checkpoints = FileCheckpoints(dataDirectory: directory.path + "/data", sourceName: "app")
            _ = checkpoints.load()
            return checkpoints.entries.values.first?.offset
        }
        // Past a checkpoint tick with the sink holding the first batch: nothing is checkpointed
        // beyond 0, and the metrics are read meanwhile from this thread.
        let deadline = MonotonicClock.nowNanoseconds() + 1_500_000_000
        while MonotonicClock.nowNanoseconds() < deadline {
            #expect(source.metricSamples().contains { $0.name == "sluice_file_watched_files" })
            ChildProcess.pause(milliseconds: 20)
        }
        #expect((checkpointed() ?? 0) == 0)
        stuck.release()
        #expect(Eventually.wait { stuck.eventsReceived == 1_000 })
        #expect(Eventually.wait { checkpointed() == Int64(text.utf8.count) })
        pipeline.shutdown.beginDraining()
        #expect(pipeline.waitUntilFinished(seconds: 30))
        #expect(checkpointed() == Int64(text.utf8.count))
    }
}
