import Foundation
import Glibc
import SluiceCore
import SluiceSync
import SluiceTesting
import Testing

@testable import SluiceBuffer

/// A batch of `count` events numbered from `first`, from source `app`, stream 7.
private func batch(_ first: Int, _ count: Int) -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "h", sourceName: "app"))
    encoder.setReadTime(1_717_200_000_000)
    var builder = EventBatchBuilder()
    for number in first..<(first + count) {
        Array(#"{"n":\#(number),"level":"\#(number % 2 == 0 ? "info" : "error")","pad":"\#(String(repeating: "x", count: 200))"}"#.utf8)
            .withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder, origin: EventOrigin(stream: 7, firstSequence: UInt64(first)), sourceName: "app")
}

private func numbers(_ batch: EventBatch) -> [Int] {
    (0..<batch.count).compactMap { position -> Int? in
        let text = String(decoding: batch[position].json, as: UTF8.self)
        guard let range = text.range(of: #""n":"#) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Reads every record the buffer hands out until it has none for a moment; acknowledges them
/// when `acknowledge` says so.
private func readAll(_ buffer: DiskBuffer, acknowledge: (Int) -> Bool = { _ in true }) -> [EventBatch] {
    let reader = buffer.takeReading()
    var batches: [EventBatch] = []
    while case .record(let batch, let ticket, _) = buffer.next(reader: reader, deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 200_000_000) {
        if acknowledge(batches.count) { buffer.acknowledge(ticket) }
        batches.append(batch)
    }
    return batches
}

private func segments(_ directory: String) -> [String] {
    BufferFiles.segments(in: directory).map(\.path)
}

private func patch(_ path: String, at offset: Int, with bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY)
    _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
    close(descriptor)
}

private func size(_ path: String) -> Int {
    var status = stat()
    return stat(path, &status) == 0 ? Int(status.st_size) : -1
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct DiskBufferTests {
    let directory = TemporaryDirectory()
    let shutdown = ShutdownSignal()

    private func open(_ name: String = "sink", _ settings: DiskBufferSettings = DiskBufferSettings(maxBytes: 64 << 20)) throws -> DiskBuffer {
        try DiskBuffer(directory: directory.path + "/" + name, settings: settings, sinkName: name)
    }

    private func fill(_ buffer: DiskBuffer, batches: Int, size: Int = 100) {
        for index in 0..<batches {
            #expect(buffer.append(batch(index * size, size), shutdown: shutdown) { _, _ in } == .stored)
        }
    }

    @Test func batchesComeBackAsTheyWentInWithTheirIdentity() throws {
        let buffer = try open()
        let original = batch(0, 50)
        #expect(buffer.append(original, shutdown: shutdown) { _, _ in } == .stored)
        let read = readAll(buffer)
        #expect(read.count == 1)
        let copy = try #require(read.first)
        #expect(Array(copy.bytes) == Array(original.bytes))
        #expect(copy.sourceName == "app")
        #expect(copy.origin == original.origin)
        #expect((0..<50).allSatisfy { copy[$0].level == original[$0].level && copy[$0].timestampMilliseconds == original[$0].timestampMilliseconds })
        #expect(buffer.stats.events == 0)
    }

    /// What was acknowledged before a close is not delivered again; what was not is, in order.
    @Test func aReopenedBufferDeliversWhatWasNotAcknowledged() throws {
        do {
            let buffer = try open("reopen", DiskBufferSettings(maxBytes: 16 << 20, sync: .always))
            fill(buffer, batches: 40)
            _ = readAll(buffer) { $0 < 25 }
            #expect(buffer.stats.events == 15 * 100)
            buffer.close()
        }
        let again = try open("reopen", DiskBufferSettings(maxBytes: 16 << 20, sync: .always))
        #expect(again.stats.events == 15 * 100)
        let rest = readAll(again).flatMap(numbers)
        #expect(rest == Array(2500..<4000))
        #expect(again.stats.lost.isEmpty)
    }

    /// Under `sync: interval` and `never` the position follows acknowledgements into the page
    /// cache, not only at the next sync: a process killed with SIGKILL (the OOM killer, a
    /// kubelet past the grace period) delivers again only what was in flight.
    @Test(arguments: [DiskBufferSettings.Sync.interval, .never])
    func thePositionFollowsAcknowledgementsBetweenSyncs(sync: DiskBufferSettings.Sync) throws {
        let name = "between-syncs-\(sync)"
        let buffer = try open(name, DiskBufferSettings(maxBytes: 16 << 20, sync: sync, syncIntervalNanoseconds: 3_600_000_000_000))
        fill(buffer, batches: 10)
        let reader = buffer.takeReading()
        var tickets: [DeliveryTicket] = []
        while case .record(_, let ticket, _) = buffer.next(reader: reader, deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 200_000_000) {
            tickets.append(ticket)
        }
        #expect(tickets.count == 10)
        for ticket in tickets.prefix(4) { buffer.acknowledge(ticket) }
        #expect(BufferFiles.readPosition(in: directory.path + "/" + name) == .sequence(4))
        buffer.acknowledge(tickets[6])
        #expect(BufferFiles.readPosition(in: directory.path + "/" + name) == .sequence(4))
        buffer.acknowledge(tickets[4])
        #expect(BufferFiles.readPosition(in: directory.path + "/" + name) == .sequence(5))
        buffer.close()
        #expect(BufferFiles.readPosition(in: directory.path + "/" + name) == .sequence(5))
    }

    /// A flipped byte inside a record: the buffer opens, the record is quarantined and counted,
    /// every other record is delivered.
    @Test func aDamagedRecordIsQuarantinedAndSteppedOver() throws {
        do {
            let buffer = try open("flip")
            fill(buffer, batches: 10)
            buffer.close()
        }
        let segment = try #require(segments(directory.path + "/flip").first)
        patch(segment, at: size(segment) / 2, with: [0xFF, 0x00, 0xFF])
        let buffer = try open("flip")
        let delivered = readAll(buffer).flatMap(numbers)
        #expect(delivered.count == 900, "one record of 100 events lost")
        #expect(buffer.stats.lost[.checksum] == 1)
        #expect(!BufferFiles.entries(of: directory.path + "/flip/quarantine").isEmpty)
    }

    /// A crash mid-append leaves part of a record at the end: it is cut off and counted.
    @Test func aTornTailIsCutOff() throws {
        do {
            let buffer = try open("torn")
            fill(buffer, batches: 5)
            buffer.close()
        }
        let segment = try #require(segments(directory.path + "/torn").first)
        _ = truncate(segment, off_t(size(segment) - 100))
        let buffer = try open("torn")
        #expect(readAll(buffer).flatMap(numbers) == Array(0..<400))
        #expect(buffer.stats.lost[.tornTail] == 1)
        #expect(buffer.append(batch(9000, 10), shutdown: shutdown) { _, _ in } == .stored, "appending resumes after the cut")
        #expect(readAll(buffer).flatMap(numbers) == Array(9000..<9010))
    }

    /// A missing or garbled position file: everything is delivered again (at least once), the
    /// garbled file quarantined, and it is counted.
    @Test(arguments: ["missing", "garbled"])
    func aLostPositionDeliversEverythingAgain(damage: String) throws {
        let name = "position-\(damage)"
        do {
            let buffer = try open(name, DiskBufferSettings(maxBytes: 16 << 20, sync: .always))
            fill(buffer, batches: 10)
            _ = readAll(buffer) { $0 < 6 }
            buffer.close()
        }
        let position = directory.path + "/\(name)/position"
        if damage == "missing" { unlink(position) } else { patch(position, at: 9, with: [0x42]) }
        let buffer = try open(name)
        #expect(readAll(buffer).flatMap(numbers) == Array(0..<1000))
        #expect(buffer.stats.lost[.position] == 1)
    }

    /// A segment overwritten with zeros (not the newest): quarantined whole, its records counted,
    /// the segments around it delivered.
    @Test func aSegmentOfZerosIsQuarantinedWhole() throws {
        let settings = DiskBufferSettings(maxBytes: 16 << 20)  // 1 MiB segments
        do {
            let buffer = try open("zeros", settings)
            fill(buffer, batches: 150)  // about 25 KiB each: four segments
            buffer.close()
        }
        let files = segments(directory.path + "/zeros")
        #expect(files.count >= 3)
        patch(files[1], at: 0, with: [UInt8](repeating: 0, count: size(files[1])))
        let buffer = try open("zeros", settings)
        let delivered = readAll(buffer).flatMap(numbers)
        let lost = buffer.stats.lost[.checksum] ?? 0
        #expect(lost > 0)
        #expect(delivered.count == (150 - lost) * 100)
        #expect(BufferFiles.entries(of: directory.path + "/zeros/quarantine").contains(String(files[1].split(separator: "/").last!)))
    }

    @Test func dropNewestRefusesWhenFullAndDropOldestEvictsTheOldestSegment() throws {
        var newest = DiskBufferSettings(maxBytes: 2 << 20, whenFull: .dropNewest)
        let refusing = try open("newest", newest)
        var refused = 0
        for index in 0..<400 {
            _ = refusing.append(batch(index * 30, 30), shutdown: shutdown) { reason, events in
                #expect(reason == .bufferFull)
                refused += events
            }
        }
        #expect(refused > 0)
        #expect(refusing.stats.bytes <= newest.maxBytes)
        newest.whenFull = .dropOldest
        let evicting = try open("oldest", newest)
        var evicted = 0
        for index in 0..<400 {
            _ = evicting.append(batch(index * 30, 30), shutdown: shutdown) { reason, events in
                #expect(reason == .bufferOverrun)
                evicted += events
            }
        }
        #expect(evicted > 0)
        #expect(evicting.stats.bytes <= newest.maxBytes)
        let delivered = readAll(evicting).flatMap(numbers)
        #expect(delivered.last == 11_999, "the newest events are kept")
        #expect(delivered.count + evicted == 12_000)
    }

    /// A record given back (a reload replaced the sink mid-delivery) is handed out again, to
    /// the new reader, before anything new; unacknowledged, it keeps the position (a reopened
    /// buffer still has it); one whose segment `drop_oldest` evicted meanwhile is gone.
    @Test func aRecordGivenBackIsHandedOutAgainFirst() throws {
        let settings = DiskBufferSettings(maxBytes: 16 << 20, sync: .always)
        do {
            let buffer = try open("back", settings)
            fill(buffer, batches: 5)
            let old = buffer.takeReading()
            var tickets: [DeliveryTicket] = []
            for _ in 0..<3 {
                guard case .record(_, let ticket, _) = buffer.next(reader: old, deadlineNanoseconds: nil) else { break }
                tickets.append(ticket)
            }
            let new = buffer.takeReading()
            guard case .handedOver = buffer.next(reader: old, deadlineNanoseconds: nil) else {
                Issue.record("the old reader was not told it was replaced")
                return
            }
            buffer.acknowledge(tickets[0])
            #expect(buffer.release(tickets[2]))
            #expect(buffer.release(tickets[1]))
            guard case .record(let first, let again, _) = buffer.next(reader: new, deadlineNanoseconds: nil) else {
                Issue.record("nothing handed out")
                return
            }
            #expect(again == tickets[1])
            #expect(numbers(first) == Array(100..<200))
            guard case .record(let second, _, _) = buffer.next(reader: new, deadlineNanoseconds: nil) else { return }
            #expect(numbers(second) == Array(200..<300))
            guard case .record(let third, _, _) = buffer.next(reader: new, deadlineNanoseconds: nil) else { return }
            #expect(numbers(third) == Array(300..<400), "then the next new record")
            #expect(buffer.stats.events == 400)
            buffer.close()
        }
        let reopened = try open("back", settings)
        #expect(readAll(reopened).flatMap(numbers) == Array(100..<500))

        let evicting = try open("evicted", DiskBufferSettings(maxBytes: 2 << 20, whenFull: .dropOldest))
        fill(evicting, batches: 1, size: 30)
        let reader = evicting.takeReading()
        guard case .record(_, let ticket, _) = evicting.next(reader: reader, deadlineNanoseconds: nil) else { return }
        var evicted = 0
        for index in 1..<400 { _ = evicting.append(batch(index * 30, 30), shutdown: shutdown) { evicted += $1 } }
        #expect(evicted > 0)
        #expect(!evicting.release(ticket), "its segment is gone")
        #expect(readAll(evicting).flatMap(numbers).first != 0)
    }

    /// Under `block` a full buffer waits for acknowledgements to free a segment.
    @Test func blockWaitsForAcknowledgementsToFreeSpace() throws {
        let buffer = try open("block", DiskBufferSettings(maxBytes: 2 << 20, whenFull: .block))
        let appended = SharedFlag()
        let appender = NamedThread(name: "appender") { [shutdown] in
            for index in 0..<400 { _ = buffer.append(batch(index * 30, 30), shutdown: shutdown) { _, _ in } }
            appended.set()
        }
        ChildProcess.pause(milliseconds: 300)
        #expect(!appended.isSet, "a full buffer under block holds the appender")
        var delivered: [Int] = []
        let reader = buffer.takeReading()
        while delivered.count < 12_000, case .record(let batch, let ticket, _) = buffer.next(reader: reader, deadlineNanoseconds: MonotonicClock.nowNanoseconds() + 5_000_000_000) {
            delivered += numbers(batch)
            buffer.acknowledge(ticket)
        }
        #expect(appender.join(seconds: 30))
        #expect(delivered == Array(0..<12_000))
        #expect(buffer.stats.bytes <= 2 << 20)
    }

    @Test func aSecondProcessCannotTakeTheDataDirectory() throws {
        let data = directory.path + "/data"
        let lock = try DataDirectoryLock(dataDirectory: data)
        #expect(DataDirectoryLock.holder(of: data) == getpid())
        do {
            _ = try DataDirectoryLock(dataDirectory: data)
            Issue.record("a second lock on the same data_dir was granted")
        } catch {
            #expect(error.holder == getpid())
            #expect(error.description.contains("PID \(getpid())"))
        }
        withExtendedLifetime(lock) {}
    }
}
