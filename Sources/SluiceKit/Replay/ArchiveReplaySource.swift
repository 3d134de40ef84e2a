import Crypto
import Glibc
import SluiceCore
import SluiceSync
import SluiceSinks
import Synchronization

/// Reads archive files and publishes their events again, as they were archived (not encoded a
/// second time), each under its original `source` (the field's value, `unknown` without one),
/// so sinks name indices and files as they did live, even for a source this configuration no
/// longer has. Events outside `[from, to)` or failing `where` are skipped.
///
/// Each file is a stream of its own (`EventOrigin`): its events are numbered from 0 in the
/// order the file holds them, and the stream is named by the SHA-256 of the file's first member
/// (which never changes once written, even while the file grows). So a replay repeated, or of a
/// copy of the file, gives every event the id it had the first time, and an indexer stores it
/// once; events indexed live carried other ids (their source's stream in that run), so a replay
/// of events the indexer already has indexes them again.
final class ArchiveReplaySource: Source, @unchecked Sendable {
    // @unchecked: progress counters are atomic; everything else is fixed at init.
    let name = "replay"
    let paths: [String]
    let sourceIndexByName: [String: Int]
    let fallbackIndex: Int
    let from: Int64?
    let to: Int64?
    let filter: Expression?
    /// Compressed bytes read so far, and events skipped by the time range or the filter.
    let compressedBytesRead = Atomic<Int>(0)
    let skipped = Atomic<Int>(0)
    let damaged = Locked<[String]>([])

    init(paths: [String], sourceNames: [String], from: Int64?, to: Int64?, filter: Expression?) {
        self.paths = paths
        sourceIndexByName = Dictionary(sourceNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        fallbackIndex = sourceNames.count
        self.from = from
        self.to = to
        self.filter = filter
    }

    var totalCompressedBytes: Int {
        paths.reduce(0) { total, path in
            var status = stat()
            return total + (stat(path, &status) == 0 ? Int(status.st_size) : 0)
        }
    }

    func run(_ context: SourceContext) throws {
        context.markReady()
        let matcher = filter.map { EventMatcher([$0]) }
        let sourcePath = [FieldPath(["source"])]
        let lookup = EventMatcher([], extraFields: sourcePath + [FieldPath(["@timestamp"]), FieldPath(["level"])])
        for path in paths {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                damaged.withLock { $0.append("\(path): cannot open: \(String(cString: strerror(errno)))") }
                continue
            }
            defer { close(descriptor) }
            var reader = GzipStreamReader()
            var stopped = false
            var stream: UInt64?
            var eventsBefore: UInt64 = 0
            let ending = reader.read(descriptor, onData: { data in
                guard !stopped else { return }
                let fileStream = stream ?? Self.stream(namedBy: data)
                stream = fileStream
                stopped = !publish(data, stream: fileStream, eventsBefore: &eventsBefore, context: context, lookup: lookup, matcher: matcher)
            })
            var status = stat()
            if fstat(descriptor, &status) == 0 { compressedBytesRead.add(Int(status.st_size), ordering: .relaxed) }
            if case .damaged(let offset, let member, let reason) = ending {
                damaged.withLock { $0.append("\(path): damaged at byte \(offset) (member \(member)): \(reason); the members before it were replayed") }
            }
            if stopped || context.shutdown.isStopping { return }
        }
    }

    /// A file's stream: the first 8 bytes of the SHA-256 of its first member.
    static func stream(namedBy firstMember: UnsafeRawBufferPointer) -> UInt64 {
        SHA256.hash(data: firstMember).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    /// One archived event kept for publishing: where its JSON lies in the member, what the
    /// batch index records about it, and its sequence in the file's stream.
    private struct KeptEvent {
        let source: String
        let bytes: Range<Int>
        let timestamp: Int64
        let level: EventLevel
        let sequence: UInt64
    }

    /// Publishes one member's events, one batch per original source. False when stopping.
    private func publish(
        _ data: UnsafeRawBufferPointer, stream: UInt64, eventsBefore: inout UInt64, context: SourceContext, lookup: EventMatcher,
        matcher: EventMatcher?
    ) -> Bool {
        var kept: [KeptEvent] = []
        var start = 0
        while start < data.count {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.count
            defer { start = end + 1 }
            let json = UnsafeRawBufferPointer(rebasing: data[start..<end])
            guard !json.isEmpty else { continue }
            let sequence = eventsBefore
            eventsBefore += 1
            lookup.load(EventRecord(json: json, timestampMilliseconds: 0, level: .unknown))
            let timestamp = lookup.rawValue(of: FieldPath(["@timestamp"])).flatMap(JSONLookup.stringContent).flatMap(EventTimestamp.parse) ?? 0
            let level = lookup.rawValue(of: FieldPath(["level"])).map { EventLevel.parse(JSONLookup.stringContent($0) ?? $0) } ?? .unknown
            if let from, timestamp < from { skipped.add(1, ordering: .relaxed); continue }
            if let to, timestamp >= to { skipped.add(1, ordering: .relaxed); continue }
            if let matcher {
                matcher.load(EventRecord(json: json, timestampMilliseconds: timestamp, level: level))
                guard matcher.matches(0) else { skipped.add(1, ordering: .relaxed); continue }
            }
            let source = lookup.rawValue(of: FieldPath(["source"])).map(JSONLookup.text(of:)) ?? "unknown"
            kept.append(KeptEvent(source: source, bytes: start..<end, timestamp: timestamp, level: level, sequence: sequence))
        }
        for source in Set(kept.map(\.source)).sorted() {
            let events = kept.filter { $0.source == source }
            var builder = EventBatchBuilder(byteCapacity: events.reduce(64) { $0 + $1.bytes.count + 1 })
            for event in events {
                builder.ndjson.append(UnsafeRawBufferPointer(rebasing: data[event.bytes]))
                builder.ndjson.append(0x0A)
                builder.endEvent(level: event.level, timestampMilliseconds: event.timestamp)
            }
            context.counters.events.add(builder.count)
            let origin = EventOrigin(stream: stream, sequences: events.map(\.sequence))
            let batch = EventBatch(sourceIndex: sourceIndexByName[source] ?? fallbackIndex, builder: builder, origin: origin, sourceName: source)
            guard context.publish(batch) else { return false }
        }
        return !context.shutdown.isStopping
    }
}
