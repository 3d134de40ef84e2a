import SluiceCore
import SluiceSync

/// Uncompressed bytes waiting to become one gzip member, how many events they hold, and the
/// tickets they came under (settled when the member is written).
final class ArchiveChunk {
    var bytes: ByteWriter
    var events = 0
    var tickets = TicketShares()
    var startedAtNanoseconds: UInt64 = 0

    init(capacity: Int) {
        bytes = ByteWriter(capacity: capacity)
    }
}

/// Compresses chunks into gzip members on several threads, as pigz does, and has each member
/// written to its file in order. Members are independent, so the cores work in parallel; the
/// bounded queue makes the submitter (the sink's thread) wait when the workers fall behind.
///
/// `@unchecked Sendable`: the queue synchronises itself; the free list is only touched under
/// `freeListLock`.
final class CompressionPool: @unchecked Sendable {
    private struct Job {
        let chunk: ArchiveChunk
        let file: ArchiveFile
        let sequence: Int
        let sync: Bool
    }

    let chunkBytes: Int
    private let queue: BoundedQueue<Job>
    private let freeListLock = ConditionLock()
    private var freeChunks: [ArchiveChunk] = []
    private var workers: [NamedThread] = []
    private let report: DeliveryReport

    init(threads: Int, level: Int32, chunkBytes: Int, sinkName: String, report: DeliveryReport) {
        self.chunkBytes = chunkBytes
        self.report = report
        queue = BoundedQueue(capacity: threads)
        workers = (0..<max(1, threads)).map { index in
            NamedThread(name: "gz\(index)-\(sinkName)") { [self] in work(level: level) }
        }
    }

    /// A chunk to fill (recycled when one is free).
    func takeChunk() -> ArchiveChunk {
        freeListLock.withLock { freeChunks.popLast() } ?? ArchiveChunk(capacity: chunkBytes + chunkBytes / 4)
    }

    /// Queues a chunk for `file`, waiting while the queue is full.
    func submit(_ chunk: ArchiveChunk, to file: ArchiveFile, sync: Bool) {
        queue.put(Job(chunk: chunk, file: file, sequence: file.reserveSequence(), sync: sync))
    }

    /// Lets the workers finish the queue, then stops them.
    func close() {
        queue.close()
        for worker in workers { worker.join() }
    }

    private func work(level: Int32) {
        var compressor = GzipMemberCompressor(level: level)
        var member = ByteWriter(capacity: chunkBytes / 2)
        while let job = queue.take() {
            member.removeAll()
            compressor.compressMember(job.chunk.bytes.bytes, into: &member)
            if job.file.write(member: member.bytes, sequence: job.sequence, sync: job.sync, report: report) {
                job.chunk.tickets.delivered(bytes: job.chunk.bytes.count, to: report)
            } else {
                job.chunk.tickets.dropped(.shutdown, to: report)
            }
            recycle(job.chunk)
        }
    }

    private func recycle(_ chunk: ArchiveChunk) {
        chunk.bytes.removeAll()
        chunk.events = 0
        chunk.tickets.removeAll()
        freeListLock.withLock {
            if freeChunks.count < queue.capacity + 1 { freeChunks.append(chunk) }
        }
    }
}
