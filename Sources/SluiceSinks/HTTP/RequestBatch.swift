import SluiceCore

/// The items of one request, back to back in one buffer, with where each item and the event
/// inside it are, so any subset can be sent again (retries of some items, halves after a 413)
/// and any item dead-lettered; and the ticket each item's event came under.
public final class RequestBatch {
    struct Item {
        var start: Int32
        var end: Int32
        var eventStart: Int32
        var eventEnd: Int32
        var ticket: DeliveryTicket
    }

    private(set) var bytes: ByteWriter
    private(set) var items: [Item] = []
    public let createdAtNanoseconds: UInt64
    /// The ticket of the batch whose events are being appended.
    var ticket = DeliveryTicket(0)

    public init(capacity: Int, nowNanoseconds: UInt64) {
        bytes = ByteWriter(capacity: capacity)
        createdAtNanoseconds = nowNanoseconds
    }

    public var count: Int { items.count }
    public var byteCount: Int { bytes.count }
    public var isEmpty: Bool { items.isEmpty }

    /// Bytes of the events alone (what was delivered).
    var eventBytes: Int { items.reduce(0) { $0 + Int($1.eventEnd - $1.eventStart) } }

    /// Appends an item: what `writePrefix` writes, then the event, then `suffix`.
    func append(event: UnsafeRawBufferPointer, suffix: StaticString, prefix writePrefix: (inout ByteWriter) -> Void = { _ in }) {
        let start = Int32(bytes.count)
        writePrefix(&bytes)
        let eventStart = Int32(bytes.count)
        bytes.append(event)
        let eventEnd = Int32(bytes.count)
        bytes.append(suffix)
        items.append(Item(start: start, end: Int32(bytes.count), eventStart: eventStart, eventEnd: eventEnd, ticket: ticket))
    }

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(bytes.bytes)
    }

    func item(_ index: Int) -> UnsafeRawBufferPointer {
        let item = items[index]
        return UnsafeRawBufferPointer(rebasing: bytes.bytes[Int(item.start)..<Int(item.end)])
    }

    /// The tickets of `indices`' events, in order.
    func tickets(of indices: [Int]) -> TicketShares {
        var shares = TicketShares()
        for index in indices { shares.add(items[index].ticket, events: 1) }
        return shares
    }

    func event(_ index: Int) -> UnsafeRawBufferPointer {
        let item = items[index]
        return UnsafeRawBufferPointer(rebasing: bytes.bytes[Int(item.eventStart)..<Int(item.eventEnd)])
    }
}
