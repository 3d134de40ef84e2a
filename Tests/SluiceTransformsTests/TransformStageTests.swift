import SluiceTesting
import Testing

@testable import SluiceCore
@testable import SluiceTransforms

/// The transform stage in a running pipeline: two source threads through shared transforms
/// (so the thread sanitizer sees them), each input reaching exactly the sinks that name it.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct TransformStageTests {
    @Test func eachInputReachesTheSinksThatNameItFromConcurrentSources() throws {
        let lines = { (source: Int) in (0..<20_000).map { #"{"src":\#(source),"n":\#($0),"level":"\#($0 % 2 == 0 ? "info" : "debug")"}"# } }
        let definitions = [
            TransformDefinition(name: "info", inputs: [.source(0), .source(1)], steps: [.filter(try ExpressionParser.parse("level == info"))]),
            TransformDefinition(name: "tagged", inputs: [.transform(0)], steps: [.set([(key: "env", value: "test")]), .dedupe(DedupeSettings(fields: [FieldPath(["n"])], windowNanoseconds: 60_000_000_000))]),
        ]
        // Inputs: sources 0 and 1, transform "info" 2, transform "tagged" 3.
        let raw = InMemorySink(), info = InMemorySink(), tagged = InMemorySink(), mixed = InMemorySink()
        let specs = [(raw, Set([0])), (info, Set([2])), (tagged, Set([3])), (mixed, Set([1, 3]))].enumerated().map { index, entry in
            Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "s\(index)", inputs: entry.1, whenFull: .block), sink: entry.0)
        }
        let stage = TransformStage(definitions: definitions, sourceCount: 2, wanted: [0, 1, 2, 3])
        let pipeline = Pipeline(
            sources: [ScriptedSource(name: "a", lines: lines(0)), ScriptedSource(name: "b", lines: lines(1))], sinks: specs,
            ringCapacity: 16, transforms: stage
        )
        pipeline.start()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        #expect(raw.events.count == 20_000 && raw.events.allSatisfy { $0.contains(#""src":0"#) })
        #expect(info.events.count == 20_000 && info.events.allSatisfy { $0.contains(#""level":"info""#) })
        // The same `n` comes from both sources: dedupe (shared by both threads) lets one through.
        #expect(tagged.events.count == 10_000 && tagged.events.allSatisfy { $0.contains(#""env":"test""#) })
        #expect(mixed.events.count == 20_000 + 10_000)
        #expect(stage.shared[0].drops[0]?.counter.current == 20_000)
        #expect(stage.shared[1].drops[1]?.counter.current == 10_000)
        #expect(pipeline.eventsRemovedByTransforms == ["info": ["1:where filtered": 20_000], "tagged": ["2:dedupe duplicate": 10_000]])
    }

    /// An unkeyed `sample` counts the events of every thread together (one atomic add each, no
    /// lock): exactly one in `rate` passes of all the sources' events, and each thread runs the
    /// transform with runners of its own.
    @Test func anUnkeyedSampleKeepsOneInRateAcrossConcurrentSources() throws {
        let lines = { (source: Int) in (0..<30_000).map { #"{"src":\#(source),"n":\#($0)}"# } }
        let definitions = [TransformDefinition(name: "sampled", inputs: [.source(0), .source(1), .source(2)], steps: [.sample(SampleSettings(rate: 10))])]
        let sampled = InMemorySink()
        let stage = TransformStage(definitions: definitions, sourceCount: 3, wanted: [3])
        let pipeline = Pipeline(
            sources: (0..<3).map { ScriptedSource(name: "s\($0)", lines: lines($0)) },
            sinks: [Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "sampled", inputs: [3], whenFull: .block), sink: sampled)],
            ringCapacity: 16, transforms: stage
        )
        pipeline.start()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        #expect(sampled.events.count == 9_000)
        #expect(stage.shared[0].drops[0]?.counter.current == 81_000)
    }

    /// Reads of many lines are encoded on two threads (see `HelperEncoder`), and the helper's
    /// half goes through the transforms on its own thread when no step keeps order-dependent
    /// state; a `sample` makes them run in order on the reading thread. Either way every input
    /// keeps the events' order and their identities.
    @Test func transformsOnTwoThreadsKeepOrderAndIdentities() throws {
        let count = 20_000
        let chunks = stride(from: 0, to: count, by: 1_000).map { first in
            (first..<(first + 1_000)).map { #"{"n":\#($0),"msg":"m"}"# + "\n" }.joined()
        }
        let definitions = [
            TransformDefinition(name: "shaped", inputs: [.source(0)], steps: [.rename([(from: "msg", to: "message")])]),
            TransformDefinition(name: "sampled", inputs: [.source(0)], steps: [.sample(SampleSettings(rate: 1, filter: nil, key: nil))]),
        ]
        let raw = InMemorySink(), shaped = InMemorySink(), sampled = InMemorySink()
        let specs = [(raw, 0), (shaped, 1), (sampled, 2)].enumerated().map { index, entry in
            Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "s\(index)", inputs: [entry.1], whenFull: .block), sink: entry.0)
        }
        for transforms in [[definitions[0]], definitions] {
            let stage = TransformStage(definitions: transforms, sourceCount: 1, wanted: Set(0...transforms.count))
            let pipeline = Pipeline(
                sources: [ScriptedSource(name: "a", chunks: chunks)], sinks: Array(specs.prefix(transforms.count + 1)),
                ringCapacity: 16, transforms: stage
            )
            pipeline.start()
            #expect(pipeline.waitUntilFinished(seconds: 60))
        }
        for (name, sink, expected) in [("raw", raw, 2 * count), ("shaped", shaped, 2 * count), ("sampled", sampled, count)] {
            let numbers = sink.events.map { event in
                Int(event.split(separator: #""n":"#).last?.prefix { $0.isNumber } ?? "") ?? -1
            }
            let inOrder = (0..<expected).map { $0 % count }
            let numbersInOrder = numbers == inOrder, identitiesInOrder = sink.sequences == inOrder.map(UInt64.init)
            #expect(numbersInOrder, "\(name): events out of order or missing (\(numbers.count) of \(expected))")
            #expect(identitiesInOrder, "\(name): identities out of order")
        }
        #expect(shaped.events.allSatisfy { $0.contains(#""message":"m""#) })
    }

    /// A reload builds new transforms: an unchanged step keeps its state wherever it moved, a
    /// changed one starts afresh, and a batch the old transforms made is renumbered by name.
    @Test func aReloadKeepsUnchangedStepsAndRenumbersByName() throws {
        let window: UInt64 = 60_000_000_000
        let dedupe = TransformStep.dedupe(DedupeSettings(fields: [FieldPath(["n"])], windowNanoseconds: window))
        let first = TransformStage(definitions: [
            TransformDefinition(name: "x", inputs: [.source(0)], steps: [.set([(key: "a", value: "1")])], stepFingerprints: ["set a"]),
            TransformDefinition(name: "y", inputs: [.source(0)], steps: [dedupe, dedupe], stepFingerprints: ["dedupe 1m", "dedupe 1m"]),
        ], sourceCount: 1, wanted: [1, 2])
        /// The step that drops `{"n":1}` in `shared`, nil when it goes through.
        func droppingStep(_ shared: TransformShared) -> Int? {
            var text = #"{"n":1}"#
            return text.withUTF8 { bytes in
                let outcome = TransformRunner(shared).process(
                    EventRecord(json: UnsafeRawBufferPointer(bytes), timestampMilliseconds: 0, level: .info), now: 1
                )
                guard case .dropped(let step) = outcome else { return nil }
                return step
            }
        }
        #expect(droppingStep(first.shared[1]) == nil, "a first sighting goes through")
        #expect(droppingStep(first.shared[1]) == 0, "a repeat does not")
        let second = TransformStage(definitions: [
            TransformDefinition(name: "y", inputs: [.source(0)], steps: [.set([(key: "b", value: "2")]), dedupe, dedupe],
                                stepFingerprints: ["set b", "dedupe 1m", "dedupe 2m"]),
        ], sourceCount: 1, wanted: [1], replacing: first)
        // The first dedupe (now the second step) remembers the event; its drop count goes on.
        #expect(droppingStep(second.shared[0]) == 1, "the unchanged dedupe forgot the event it saw before the reload")
        #expect(second.shared[0].drops[1]?.counter.current == 2 && second.shared[0].eventsIn === first.shared[1].eventsIn)
        // The changed one (the third) starts with an empty window.
        #expect(second.shared[0].drops[2]?.counter.current == 0 && second.shared[0].dedupes[2] !== first.shared[1].dedupes[1])
        #expect(first.translate(0, to: second) == 0, "a source keeps its number")
        #expect(first.translate(2, to: second) == 1, "y moved from input 2 to input 1")
        #expect(first.translate(1, to: second) == nil, "x is gone")
        #expect(second.translate(1, to: nil) == nil)
    }
}
