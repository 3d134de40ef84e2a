import Glibc
import SluiceCore
import SluiceSync
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceSources

/// A shared counter for the writer thread.
final class SentBytes: Sendable {
    let value = Atomic<Int>(0)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct BackpressureTests {
    @Test func aSlowBlockingSinkHoldsAFastTCPWriterBackAndLosesNothing() throws {
        let line = String(repeating: "x", count: 99) + "\n"
        let chunk = Array(String(repeating: line, count: 640).utf8)  // 64,000 bytes
        let chunks = 600  // 38.4 MB, 384,000 lines
        let sink = SlowSink(delayNanoseconds: 5_000_000)
        let source = StreamServerSource(name: "net", endpoint: .tcp(address: "127.0.0.1:0"), settings: SourceSettings(), host: "h")
        let pipeline = Pipeline(
            sources: [source],
            sinks: [Pipeline.SinkSpec(configuration: SinkRunner.Configuration(name: "slow", inputs: nil, whenFull: .block), sink: sink)],
            ringCapacity: 4
        )
        pipeline.start()
        #expect(Eventually.wait { source.boundPort != nil })
        let port = try #require(source.boundPort)
        let sent = SentBytes()
        let writer = NamedThread(name: "writer") {
            guard let socket = try? SocketClient.tcp(port: port) else { return }
            for _ in 0..<chunks {
                SocketClient.send(socket, chunk)
                sent.value.add(chunk.count, ordering: .relaxed)
            }
            close(socket)
        }
        // While the sink is slow the writer waits in the kernel: what is in flight (socket
        // buffers, the framer, four ring slots) stays bounded instead of growing with the input.
        var maxInFlight = 0
        let deadline = MonotonicClock.nowNanoseconds() + 90_000_000_000
        while sent.value.load(ordering: .relaxed) < chunk.count * chunks && MonotonicClock.nowNanoseconds() < deadline {
            let inFlight = sent.value.load(ordering: .relaxed) - sink.eventsReceived * line.utf8.count
            maxInFlight = max(maxInFlight, inFlight)
            ChildProcess.pause(milliseconds: 2)
        }
        #expect(writer.join(seconds: 30))
        pipeline.shutdown.beginDraining()
        #expect(pipeline.waitUntilFinished(seconds: 60))
        #expect(sink.eventsReceived == chunks * 640)
        #expect(maxInFlight < 16 << 20, "in flight peaked at \(maxInFlight) bytes")
        #expect(pipeline.sinkRunners[0].counters.droppedTotal == 0)
    }
}
