import SluiceCore

/// Cuts a batch into the messages a `nats` sink publishes: runs of consecutive events with one
/// subject, of up to `batch.max_events` events and `batch.max_bytes` bytes (a lone event over
/// the byte limit is a message of its own; the server refuses it if it is over its
/// `max_payload`).
struct NATSMessageSplitter {
    private let template: SubjectTemplate
    private let maxEvents: Int
    private let maxBytes: Int
    /// The last subject rendered, for templates that read no field (one per source).
    private var source = ""
    private var subject = ""

    init(settings: NATSSinkSettings) {
        template = settings.subject
        maxEvents = settings.maxEventsPerMessage
        maxBytes = settings.maxBytesPerMessage
    }

    /// The messages of `batch`, their payloads at most `limit` bytes (and `batch.max_bytes`).
    mutating func split(_ batch: EventBatch, maxBytes limit: Int) -> [(events: Range<Int>, subject: String)] {
        let maxBytes = min(maxBytes, limit)
        var messages: [(events: Range<Int>, subject: String)] = []
        var start = 0
        var current = ""
        var bytes = 0
        for position in 0..<batch.count {
            let record = batch[position]
            let eventSubject = subject(for: record, source: batch.sourceName)
            let size = record.json.count + 1
            if position > start, eventSubject != current || position - start >= maxEvents || bytes + size > maxBytes {
                messages.append((start..<position, current))
                start = position
                bytes = 0
            }
            current = eventSubject
            bytes += size
        }
        if batch.count > start { messages.append((start..<batch.count, current)) }
        return messages
    }

    private mutating func subject(for record: EventRecord, source: String) -> String {
        if template.readsFields { return template.render(record, source: source) }
        if source != self.source || subject.isEmpty {
            self.source = source
            subject = template.render(record, source: source)
        }
        return subject
    }
}
