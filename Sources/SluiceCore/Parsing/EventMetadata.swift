/// What Sluice adds to every event of one source stream: the host, the source name, the stream
/// (`stdout`/`stderr`, where known) and the source's static labels. Metadata never replaces a
/// field the application wrote: a label or metadata key the event already has is left out.
public struct EventMetadata: Sendable {
    public var host: String
    public var sourceName: String
    public var stream: String?
    public var labels: [(key: String, value: String)]

    public init(host: String, sourceName: String, stream: String? = nil, labels: [(key: String, value: String)] = []) {
        self.host = host
        self.sourceName = sourceName
        self.stream = stream
        self.labels = labels
    }

    /// Fields in the order they are written.
    var fields: [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = [("host", host), ("source", sourceName)]
        if let stream { fields.append(("stream", stream)) }
        for label in labels where !fields.contains(where: { $0.key == label.key }) {
            fields.append(label)
        }
        return fields
    }
}

/// Metadata pre-encoded once per stream, so adding it to an event is one copy.
struct EncodedMetadata: Sendable {
    struct Field: Sendable {
        let key: [UInt8]
        /// `,"key":"value"`
        let encoded: [UInt8]
    }

    let fields: [Field]
    /// Every field encoded, then `}` and the newline: the common case in one append.
    let suffix: [UInt8]
    /// Bit `n` set when some field key is `n` bytes long: a quick "cannot collide" test.
    let keyLengths: UInt64

    /// - Parameter reserved: keys Sluice itself writes for this kind of event; a label with one
    ///   of these names is left out rather than written twice.
    init(_ metadata: EventMetadata, excluding reserved: Set<String> = []) {
        var fields: [Field] = []
        var lengths: UInt64 = 0
        for (key, value) in metadata.fields.prefix(63) where !reserved.contains(key) {
            var writer = ByteWriter(capacity: 64)
            writer.append(UInt8(ascii: ","))
            writer.appendJSONString(key)
            writer.append(UInt8(ascii: ":"))
            writer.appendJSONString(value)
            fields.append(Field(key: Array(key.utf8), encoded: Array(writer.bytes)))
            if key.utf8.count < 64 { lengths |= 1 << UInt64(key.utf8.count) }
        }
        self.fields = fields
        suffix = fields.flatMap(\.encoded) + Array("}\n".utf8)
        keyLengths = lengths
    }

    /// Which fields (bit per index) the key collides with.
    @inline(__always)
    func collisions(withKey key: UnsafeRawBufferPointer) -> UInt64 {
        guard key.count < 64, keyLengths & (1 << UInt64(key.count)) != 0 else { return 0 }
        var mask: UInt64 = 0
        for (position, field) in fields.enumerated() where field.key.count == key.count {
            if field.key.withUnsafeBytes({ $0.elementsEqual(key) }) { mask |= 1 << UInt64(position) }
        }
        return mask
    }
}

/// One stream's metadata, encoded once for each kind of event: what an encoder switches to when
/// its source moves on to another stream (`EventEncoder.use(_:)`).
public struct EncodedStreamMetadata: Sendable {
    let forFields: EncodedMetadata
    let forPlainLines: EncodedMetadata
    let forSyslog: EncodedMetadata

    public init(_ metadata: EventMetadata) {
        forFields = EncodedMetadata(metadata)
        forPlainLines = EncodedMetadata(metadata, excluding: ["@timestamp", "level", "message", "@split"])
        forSyslog = EncodedMetadata(metadata, excluding: [
            "@timestamp", "level", "facility", "severity", "hostname", "appname", "procid", "msgid",
            "structured_data", "message",
        ])
    }
}
