import SluiceCore

/// The log formats container runtimes write each container's output in.
public enum ContainerLogFormat: String, Sendable {
    /// The CRI format (containerd, CRI-O): `<RFC 3339 time> <stdout|stderr> <P|F> <message>`,
    /// where `P` marks a part of a line the runtime split and `F` its last part.
    case cri
    /// Docker's json-file driver: `{"log":"<message>\n","stream":"stderr","time":"<RFC 3339>"}`,
    /// a line longer than 16 KiB written as several objects, all but the last without `\n`.
    case docker
}

/// One line of a container log, decoded.
public struct ContainerLogLine {
    public enum Stream: Int, Sendable {
        case stdout = 0
        case stderr = 1

        public var name: String { self == .stdout ? "stdout" : "stderr" }
    }

    /// The message (for docker, unescaped into the decoder's scratch space).
    public var message: UnsafeRawBufferPointer
    public var stream: Stream
    /// The runtime's time stamp, milliseconds since the epoch.
    public var timestampMilliseconds: Int64?
    /// A part of a longer line; the parts are joined up to the next line that is not partial.
    public var isPartial: Bool
}

/// Decodes container log lines. A line that does not follow the format is returned whole as
/// a stdout message (and counted by the caller), so nothing is lost to a runtime's quirk.
public struct ContainerLogDecoder: ~Copyable {
    public let format: ContainerLogFormat
    private var scratch = ByteWriter(capacity: 4096)

    public init(format: ContainerLogFormat) {
        self.format = format
    }

    /// The decoded line; nil when it does not follow the format. Valid until the next call.
    public mutating func decode(_ line: UnsafeRawBufferPointer) -> ContainerLogLine? {
        switch format {
        case .cri: Self.decodeCRI(line)
        case .docker: decodeDocker(line)
        }
    }

    static func decodeCRI(_ line: UnsafeRawBufferPointer) -> ContainerLogLine? {
        guard let firstSpace = line.firstIndex(of: 0x20) else { return nil }
        let time = UnsafeRawBufferPointer(rebasing: line[0..<firstSpace])
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: 0x20) else { return nil }
        let streamName = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        let stream: ContainerLogLine.Stream
        if streamName.elementsEqual("stdout".utf8) {
            stream = .stdout
        } else if streamName.elementsEqual("stderr".utf8) {
            stream = .stderr
        } else {
            return nil
        }
        // The tag: `P` or `F`, possibly followed by more `:`-separated tags.
        let tagStart = secondSpace + 1
        guard tagStart < line.count else { return nil }
        var tagEnd = tagStart
        while tagEnd < line.count, line[tagEnd] != 0x20 { tagEnd += 1 }
        let partial = line[tagStart] == UInt8(ascii: "P")
        guard partial || line[tagStart] == UInt8(ascii: "F") else { return nil }
        let messageStart = min(tagEnd + 1, line.count)
        return ContainerLogLine(
            message: UnsafeRawBufferPointer(rebasing: line[messageStart...]), stream: stream,
            timestampMilliseconds: EventTimestamp.parse(time), isPartial: partial
        )
    }

    private mutating func decodeDocker(_ line: UnsafeRawBufferPointer) -> ContainerLogLine? {
        guard let logRange = Self.value("log", in: line), let log = JSONLookup.stringContent(UnsafeRawBufferPointer(rebasing: line[logRange])) else {
            return nil
        }
        var stream = ContainerLogLine.Stream.stdout
        if let streamRange = Self.value("stream", in: line),
           let name = JSONLookup.stringContent(UnsafeRawBufferPointer(rebasing: line[streamRange])), name.elementsEqual("stderr".utf8) {
            stream = .stderr
        }
        let time = Self.value("time", in: line).flatMap { JSONLookup.stringContent(UnsafeRawBufferPointer(rebasing: line[$0])) }
        scratch.removeAll()
        JSONLookup.unescape(log, into: &scratch)
        var message = scratch.bytes
        let complete = message.last == 0x0A
        if complete { message = UnsafeRawBufferPointer(rebasing: message.dropLast()) }
        return ContainerLogLine(
            message: message, stream: stream, timestampMilliseconds: time.flatMap(EventTimestamp.parse), isPartial: !complete
        )
    }

    private static func value(_ key: StaticString, in object: UnsafeRawBufferPointer) -> Range<Int>? {
        JSONLookup.value(forKey: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount), inObject: object)
    }
}
