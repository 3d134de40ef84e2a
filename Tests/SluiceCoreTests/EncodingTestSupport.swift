import Foundation

@testable import SluiceCore

/// What encoding some lines produced: each event parsed back with Foundation (which also
/// proves it is valid JSON), its raw text, its batch level, and the encoder's counts.
struct Encoded {
    var objects: [[String: Any]] = []
    var texts: [String] = []
    var levels: [EventLevel] = []
    var timestamps: [Int64] = []
    var counts = EncodingCounts()
}

func encode(
    _ lines: [FramedLine],
    format: InputFormat = .auto,
    metadata: EventMetadata = EventMetadata(host: "h1", sourceName: "app"),
    readTime: Int64 = 1_700_000_000_000
) -> Encoded {
    var encoder = EventEncoder(format: format, metadata: metadata)
    encoder.setReadTime(readTime)
    var builder = EventBatchBuilder()
    for line in lines { encoder.encode(line, into: &builder) }
    let batch = EventBatch(sourceIndex: 0, builder: builder)
    var result = Encoded()
    result.counts = encoder.takeCounts()
    for position in 0..<batch.count {
        let record = batch[position]
        let text = String(decoding: record.json, as: UTF8.self)
        result.texts.append(text)
        result.levels.append(record.level)
        result.timestamps.append(record.timestampMilliseconds)
        let object = try? JSONSerialization.jsonObject(with: Data(record.json)) as? [String: Any]
        result.objects.append(object ?? ["__invalid__": text])
    }
    return result
}

func encode(_ lines: [String], format: InputFormat = .auto, metadata: EventMetadata = EventMetadata(host: "h1", sourceName: "app")) -> Encoded {
    withFramedLines(lines.map { Array($0.utf8) }) { encode($0, format: format, metadata: metadata) }
}

func withFramedLines<T>(_ lines: [[UInt8]], _ body: ([FramedLine]) -> T) -> T {
    var framed: [FramedLine] = []
    var buffers: [UnsafeMutableRawBufferPointer] = []
    defer { buffers.forEach { $0.deallocate() } }
    for line in lines {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(line.count, 1), alignment: 1)
        buffer.copyBytes(from: line)
        buffers.append(buffer)
        framed.append(FramedLine(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<line.count])))
    }
    return body(framed)
}
