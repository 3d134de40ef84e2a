import Glibc
import SluiceConfig
import SluiceCore
import SluiceRing
import SluiceSync
import SluiceTesting
import Testing

@testable import SluiceSources

/// A ring with one consumer, and a context to publish into it.
private func makeContext() -> (SourceContext, EventRing<EventBatch>) {
    let ring = EventRing<EventBatch>(capacity: 64, consumerGating: [true])
    let context = SourceContext(sourceIndex: 0, counters: SourceCounters(name: "test"), shutdown: ShutdownSignal(), ring: ring)
    return (context, ring)
}

private func drain(_ ring: EventRing<EventBatch>) -> [String] {
    var events: [String] = []
    let consumer = ring.consumers[0]
    while case .element(let batch, let sequence, _) = ring.poll(consumer, deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 100_000_000) {
        for position in 0..<batch.count { events.append(String(decoding: batch[position].json, as: UTF8.self)) }
        ring.commit(consumer, sequence: sequence)
    }
    return events
}

private func publisher(_ context: SourceContext, maxLineBytes: Int = 1 << 20) -> LineStreamPublisher {
    LineStreamPublisher(context: context, format: .auto, metadata: EventMetadata(host: "h", sourceName: "test"), maxLineBytes: maxLineBytes)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct DescriptorReaderTests {
    @Test func readsAPipeToEndOfFileKeepingTheLastLine() throws {
        let (context, ring) = makeContext()
        var descriptors: [Int32] = [-1, -1]
        #expect(pipe(&descriptors) == 0)
        let text = Array("a\nb\nno newline".utf8)
        _ = text.withUnsafeBytes { write(descriptors[1], $0.baseAddress, $0.count) }
        close(descriptors[1])
        let ending = try DescriptorReader.readToEnd(descriptors[0], into: publisher(context), shutdown: context.shutdown, sourceName: "test")
        close(descriptors[0])
        #expect(ending == .endOfFile)
        let events = drain(ring)
        #expect(events.count == 3)
        #expect(events[2].contains(#""message":"no newline""#))
        #expect(context.counters.events.current == 3)
    }

    @Test func stoppingEndsTheReadAndKeepsWhatWasRead() throws {
        let (context, ring) = makeContext()
        var descriptors: [Int32] = [-1, -1]
        #expect(pipe(&descriptors) == 0)
        let text = Array("whole\nhalf".utf8)
        _ = text.withUnsafeBytes { write(descriptors[1], $0.baseAddress, $0.count) }
        let events = SharedEvents()
        let readEnd = descriptors[0]
        let reader = NamedThread(name: "reader") {
            let ending = try? DescriptorReader.readToEnd(readEnd, into: publisher(context), shutdown: context.shutdown, sourceName: "test")
            events.set(ending == .stopped ? drain(ring) : [])
        }
        #expect(Eventually.wait { context.counters.events.current == 1 })
        context.shutdown.stopNow()
        #expect(reader.join(seconds: 30))
        close(descriptors[0])
        close(descriptors[1])
        #expect(events.value.count == 2)
        #expect(events.value.last?.contains(#""message":"half""#) == true)
    }

    @Test func theSourceSettingsReadTheirKeys() throws {
        let context = ConfigContext(environment: ["SLUICE_SOURCES_APP_FORMAT": "plain"])
        let root = try YAMLLoader.parse("sources: { app: { max_line_bytes: 4KiB, labels: { team: core } } }", file: "t.yaml").get()
        let settings = SourceSettings(reading: ConfigReader(root: root, context: context).section("sources").section("app"))
        #expect(settings.format == .plain)
        #expect(settings.maxLineBytes == 4096)
        #expect(settings.labels.map(\.key) == ["team"])
        #expect(context.issues.isEmpty)
    }
}

/// Events handed from a reading thread to the test: `Locked` (a pthread mutex at a fixed heap
/// address; a `pthread_mutex_t` stored in a Swift property may be copied by an inout access).
final class SharedEvents: Sendable {
    private let events = Locked<[String]>([])
    var value: [String] { events.withLock { $0 } }
    func set(_ new: [String]) { events.withLock { $0 = new } }
}
