import Glibc
import SluiceTesting
import Testing

@testable import SluiceBuffer

/// Where a disk buffer's reader is, without reading: segments stand for files by their sizes.
@Suite(.timeLimit(.minutes(10)), .watchdog) struct ReadCursorTests {
    private func segment(first: UInt64, size: Int, damaged: [Range<Int>] = []) -> BufferSegment {
        let made = BufferSegment(firstSequence: first, path: "/dev/null", descriptor: open("/dev/null", O_RDONLY), size: size)
        made.damaged = damaged
        return made
    }

    @Test func theNextPlaceStepsOverKnownDamageAndReadSegmentsAndWaitsAtTheEnd() {
        let segments = [segment(first: 0, size: 300, damaged: [0..<100]), segment(first: 10, size: 50)]
        var cursor = ReadCursor()
        let first = cursor.nextPlace(in: segments)
        #expect(first?.segment === segments[0] && first?.offset == 100 && first?.size == 300, "damage found at opening is stepped over")
        let (handOut, lost) = cursor.pass(sequence: 3, bytes: 200)
        #expect(handOut && lost == nil, "damage counted at opening is not counted again")
        #expect(!cursor.isAtEnd(of: segments))
        let second = cursor.nextPlace(in: segments)
        #expect(second?.segment === segments[1] && second?.offset == 0)
        _ = cursor.pass(sequence: 10, bytes: 50)
        #expect(cursor.isAtEnd(of: segments))
        let none = cursor.nextPlace(in: segments)
        #expect(none == nil && cursor.nextUnreadSequence(in: segments) == 11)
    }

    @Test func aRecordBeforeThePositionIsPassedWithoutBeingHandedOut() {
        let segments = [segment(first: 0, size: 100)]
        var cursor = ReadCursor(expectedSequence: 2)
        _ = cursor.nextPlace(in: segments)
        let acknowledgedBefore = cursor.pass(sequence: 1, bytes: 40)
        let waiting = cursor.pass(sequence: 2, bytes: 60)
        #expect(!acknowledgedBefore.handOut && waiting.handOut && waiting.lost == nil)
    }

    @Test func damageFoundWhileReadingCountsTheRecordsItHidAtTheNextIntactOne() {
        let segments = [segment(first: 0, size: 1_000)]
        var cursor = ReadCursor()
        _ = cursor.nextPlace(in: segments)
        _ = cursor.pass(sequence: 0, bytes: 100)
        #expect(cursor.isAt(segments[0], offset: 100, in: segments))
        cursor.stepOver(damage: 100..<400)
        #expect(cursor.isAt(segments[0], offset: 400, in: segments))
        let after = cursor.pass(sequence: 4, bytes: 100)
        #expect(after.handOut && after.lost?.0 == .checksum && after.lost?.1 == 3, "sequences 1, 2 and 3 were in the damage")
        let next = cursor.pass(sequence: 5, bytes: 100)
        #expect(next.lost == nil, "counted once")
    }

    @Test func evictingTheSegmentBeingReadMovesTheReaderToTheNextAndItsSequences() {
        var segments = [segment(first: 0, size: 500), segment(first: 40, size: 500)]
        var cursor = ReadCursor()
        _ = cursor.nextPlace(in: segments)
        _ = cursor.pass(sequence: 0, bytes: 100)
        segments.removeFirst()
        cursor.firstSegmentRemoved(evicted: true, next: segments.first)
        let place = cursor.nextPlace(in: segments)
        #expect(place?.segment === segments[0] && place?.offset == 0)
        #expect(cursor.nextUnreadSequence(in: segments) == 40)
    }
}
