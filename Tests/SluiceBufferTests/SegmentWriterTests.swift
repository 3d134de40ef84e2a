import Glibc
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceBuffer

/// The appending thread's part of a disk buffer, on real files.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct SegmentWriterTests {
    let directory = TemporaryDirectory()

    /// Writes `bytes` of record into `newest` (or a new segment) and counts it in, as the
    /// buffer does under its lock.
    private func write(
        _ writer: SegmentWriter, bytes: Int, sequence: UInt64, newest: BufferSegment?, settings: DiskBufferSettings, created: inout [BufferSegment]
    ) throws -> (segment: BufferSegment, offset: Int) {
        let record = [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: bytes)
        var made: [BufferSegment] = []
        let result = record.withUnsafeBytes { writer.write($0, sequence: sequence, newest: newest, settings: settings) { made.append($0) } }
        created += made
        let (segment, offset) = try result.get()
        segment.size += bytes
        segment.lastSequence = sequence
        return (segment, offset)
    }

    @Test func recordsFollowEachOtherInASegmentUntilItIsFullThenANewOneStartsAtTheirSequence() throws {
        let writer = SegmentWriter(directory: directory.path)
        let settings = DiskBufferSettings(maxBytes: 16 << 20, sync: .never)  // 1 MiB segments
        var created: [BufferSegment] = []
        let first = try write(writer, bytes: 400 << 10, sequence: 0, newest: nil, settings: settings, created: &created)
        let second = try write(writer, bytes: 400 << 10, sequence: 1, newest: first.segment, settings: settings, created: &created)
        let third = try write(writer, bytes: 400 << 10, sequence: 2, newest: second.segment, settings: settings, created: &created)
        #expect(created.count == 2, "one segment for the first record, one when the third would pass 1 MiB")
        #expect(first.offset == 0 && second.offset == 400 << 10 && second.segment === first.segment)
        #expect(third.offset == 0 && third.segment !== first.segment && third.segment.firstSequence == 2)
        #expect(directoryNames(in: directory.path).sorted() == [BufferFiles.segmentName(firstSequence: 0), BufferFiles.segmentName(firstSequence: 2)])
        var status = stat()
        #expect(stat(directory.path + "/" + BufferFiles.segmentName(firstSequence: 0), &status) == 0 && status.st_size == 800 << 10)
    }

    @Test func aFailedWriteLeavesNothingBehindAndTheNextRecordGoesToANewSegment() throws {
        let writer = SegmentWriter(directory: directory.path)
        let settings = DiskBufferSettings(maxBytes: 16 << 20, sync: .always)
        // A segment whose descriptor refuses writes stands for a disk that refuses them.
        let path = directory.write("0000000000000000.seg", "")
        let refusing = BufferSegment(firstSequence: 0, path: path, descriptor: open(path, O_RDONLY), size: 0)
        refusing.size = 10
        let record = [UInt8](repeating: 1, count: 100)
        var created: [BufferSegment] = []
        let failed = record.withUnsafeBytes { writer.write($0, sequence: 5, newest: refusing, settings: settings) { created.append($0) } }
        guard case .failure(let error) = failed else { Issue.record("a write into a read-only descriptor succeeded"); return }
        #expect(error.description.contains("writing \(path) failed"))
        #expect(created.isEmpty)
        let next = try write(writer, bytes: 100, sequence: 5, newest: refusing, settings: settings, created: &created)
        #expect(next.segment !== refusing && next.segment.firstSequence == 5 && next.offset == 0 && created.count == 1)
    }

    @Test func theSyncIntervalIsDueOnceItHasPassed() {
        let writer = SegmentWriter(directory: directory.path)
        #expect(!writer.isSyncDue(intervalNanoseconds: 60_000_000_000))
        #expect(writer.isSyncDue(intervalNanoseconds: 0))
    }
}
