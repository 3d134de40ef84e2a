import SluiceRing
import SluiceSync
import SluiceTesting
import Testing

@testable import SluiceCore

private func run(_ sources: [any Source], _ sinks: [Pipeline.SinkSpec], ringCapacity: Int = 16) -> Pipeline {
    let pipeline = Pipeline(sources: sources, sinks: sinks, ringCapacity: ringCapacity)
    pipeline.start()
    #expect(pipeline.waitUntilFinished(seconds: 60), "the pipeline did not finish")
    return pipeline
}

private func spec(_ name: String, _ sink: any Sink, inputs: Set<Int>? = nil, whenFull: WhenFull = .block) -> Pipeline.SinkSpec {
    Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: name, inputs: inputs, whenFull: whenFull), sink: sink)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct PipelineTests {
    @Test func everySinkSeesEveryEventInOrder() {
        let lines = (0..<5000).map { #"{"n":\#($0)}"# }
        let first = InMemorySink()
        let second = InMemorySink()
        let pipeline = run([ScriptedSource(name: "app", lines: lines)], [spec("a", first), spec("b", second)])
        for sink in [first, second] {
            #expect(sink.events.count == 5000)
            #expect(sink.events.first?.contains(#""n":0"#) == true)
            #expect(sink.events.last?.contains(#""n":4999"#) == true)
            #expect(sink.isFinished)
        }
        #expect(pipeline.sourceCounters[0].events.current == 5000)
        #expect(pipeline.sinkRunners.map { $0.counters.events.current } == [5000, 5000])
    }

    @Test func aSinkTakesOnlyItsInputs() {
        let onlySecond = InMemorySink()
        let everything = InMemorySink()
        _ = run(
            [ScriptedSource(name: "one", lines: ["a", "b"]), ScriptedSource(name: "two", lines: ["c"])],
            [spec("only-two", onlySecond, inputs: [1]), spec("all", everything)]
        )
        #expect(onlySecond.events.count == 1)
        #expect(onlySecond.events.first?.contains(#""source":"two""#) == true)
        #expect(everything.events.count == 3)
    }

    @Test func aBlockingSinkThatFailsIsRetriedAndLosesNothing() {
        let sink = InMemorySink()
        sink.failNextWrites(2)
        let pipeline = run([ScriptedSource(name: "app", lines: ["x", "y"])], [spec("flaky", sink)])
        #expect(sink.events.count == 2)
        #expect(pipeline.sinkRunners[0].counters.droppedTotal == 0)
    }

    @Test func aDroppingSinkThatFailsCountsWhatItDropped() {
        let sink = InMemorySink()
        sink.failNextWrites(1_000)
        let pipeline = run([ScriptedSource(name: "app", lines: ["x", "y", "z"])], [spec("flaky", sink, whenFull: .dropNewest)])
        let counters = pipeline.sinkRunners[0].counters
        #expect(counters.events.current + counters.dropped(.sinkError).current == 3)
        #expect(counters.dropped(.sinkError).current == 3)
    }

    @Test func aPermanentFailureIsCountedAsOutputClosed() {
        let sink = InMemorySink()
        sink.failPermanently()
        let pipeline = run([ScriptedSource(name: "app", lines: ["x", "y"])], [spec("gone", sink)])
        #expect(pipeline.sinkRunners[0].counters.dropped(.outputClosed).current == 2)
    }

    @Test func aSlowDropNewestSinkNeverHoldsTheOthersBackAndAccountsForEverything() {
        let lines = (0..<2000).map { "line \($0)" }
        let chunks = stride(from: 0, to: lines.count, by: 10).map { lines[$0..<min($0 + 10, lines.count)].joined(separator: "\n") + "\n" }
        let fast = InMemorySink()
        let slow = SlowSink(delayNanoseconds: 2_000_000)
        let pipeline = run([ScriptedSource(name: "app", chunks: chunks)], [spec("fast", fast), spec("slow", slow, whenFull: .dropNewest)], ringCapacity: 4)
        #expect(fast.events.count == 2000)
        let slowCounters = pipeline.sinkRunners[1].counters
        #expect(slowCounters.events.current + slowCounters.dropped(.sinkBusy).current == 2000)
        #expect(slowCounters.dropped(.sinkBusy).current > 0)
    }

    /// A `drop_oldest` sink that stops answering never holds the sources or the other sinks
    /// back: everything reaches the fast sink while it is stuck, and it then counts exactly what
    /// it missed.
    @Test func aStuckDropOldestSinkIsOverrunAndCountsIt() {
        let chunks = (0..<400).map { "chunk \($0)\n" }
        let stuck = StuckSink()
        let fast = InMemorySink()
        let pipeline = Pipeline(
            sources: [ScriptedSource(name: "app", chunks: chunks)], sinks: [spec("fast", fast), spec("stuck", stuck, whenFull: .dropOldest)],
            ringCapacity: 8
        )
        pipeline.start()
        #expect(Eventually.wait { fast.events.count == 400 }, "the stuck drop_oldest sink held the others back")
        stuck.release()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        let counters = pipeline.sinkRunners[1].counters
        #expect(counters.dropped(.ringOverrun).current > 300, "the stuck sink was not overrun")
        #expect(counters.events.current + counters.dropped(.ringOverrun).current == 400)
    }

    /// Reloads under load: three sources publish while the configuration is reloaded five
    /// times. A sink kept by every reload sees every event once, in order per source, and
    /// never finishes early; a sink replaced by every reload has each event in exactly one
    /// generation, in order; a sink removed by the first reload finishes what it had; the
    /// counters of a sink that keeps its name continue across generations.
    @Test func reloadingUnderLoadLosesAndRepeatsNothing() {
        let sources = (0..<3).map { source in
            ScriptedSource(name: "s\(source)", chunks: (0..<200).map { chunk in
                (0..<50).map { #"{"s":\#(source),"n":\#(chunk * 50 + $0)}"# + "\n" }.joined()
            })
        }
        let kept = InMemorySink()
        let removed = InMemorySink()
        var generations = [InMemorySink()]
        let pipeline = Pipeline(
            sources: sources, sinks: [spec("kept", kept), spec("memory", generations[0]), spec("removed", removed)], ringCapacity: 4
        )
        pipeline.start()
        var reloads = 0
        while reloads < 5 && !pipeline.isFinished {
            let next = InMemorySink()
            let slow = spec("slow", SlowSink(delayNanoseconds: 1_000_000))
            if let outcome = pipeline.reload([.keep(name: "kept"), .start(spec("memory", next)), .start(slow)], ringCapacity: 8, transforms: nil) {
                #expect(outcome.kept == ["kept"] && outcome.ringReplaced)
                generations.append(next)
                reloads += 1
            }
        }
        #expect(pipeline.waitUntilFinished(seconds: 60))
        #expect(reloads == 5)
        #expect(generations.allSatisfy { $0.isFinished })
        #expect(removed.isFinished)
        let inOrder = { (events: [String]) -> Bool in
            (0..<3).allSatisfy { source in
                let numbers = events.map { $0.split(separator: ",") }.filter { $0.contains(#""s":\#(source)"#) }
                    .compactMap { $0.first { $0.hasPrefix(#""n":"#) }.flatMap { Int($0.dropFirst(4).prefix { $0.isNumber }) } }
                return numbers == Array(0..<10_000)
            }
        }
        #expect(kept.events.count == 30_000 && inOrder(kept.events))
        let all = generations.flatMap(\.events)
        #expect(all.count == 30_000 && Set(all).count == 30_000 && inOrder(all))
        #expect(pipeline.sinkRunners.map(\.counters.name) == ["kept", "memory", "slow"])
        #expect(pipeline.sinkRunners[0].counters.events.current == 30_000)
        #expect(pipeline.sinkRunners[1].counters.events.current == 30_000)
        #expect(pipeline.allSinkCounters.map(\.name) == ["kept", "memory", "removed", "slow"])
        #expect(pipeline.allSinkCounters[2].events.current == removed.events.count)
        #expect(pipeline.allSinkCounters.allSatisfy { $0.droppedTotal == 0 })
        #expect(pipeline.reload([.start(spec("late", InMemorySink()))], ringCapacity: 8, transforms: nil) == nil)
    }

    /// A reload that changes a sink stuck under `block` returns at once: the old version keeps
    /// its backlog, the new one waits for it, and nothing is dropped once the old one recovers.
    @Test func aReloadNeverWaitsForAStuckSink() {
        let stuck = StuckSink()
        let pipeline = Pipeline(sources: [ScriptedSource(name: "app", chunks: (0..<50).map { "line \($0)\n" })], sinks: [spec("out", stuck)], ringCapacity: 4, transforms: nil)
        pipeline.start()
        #expect(Eventually.wait { pipeline.ring.occupancy > 0 })
        let replacement = InMemorySink()
        let started = MonotonicClock.nowNanoseconds()
        let outcome = pipeline.reload([.start(spec("out", replacement))], ringCapacity: 4, transforms: nil)
        #expect(MonotonicClock.nowNanoseconds() - started < 1_000_000_000, "the reload waited for the stuck sink")
        #expect(outcome?.finishing == ["out"] && outcome?.started == ["out"])
        #expect(replacement.events.isEmpty, "the new version started before the old one read its backlog")
        stuck.release()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        #expect(stuck.eventsReceived + replacement.events.count == 50)
        #expect(pipeline.sinkRunners[0].counters.events.current == 50)
        #expect(pipeline.sinkRunners[0].counters.droppedTotal == 0)
    }
}
