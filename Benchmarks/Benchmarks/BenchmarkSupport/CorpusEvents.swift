public import SluiceCore

/// 1000 events of the shape of the shared JSON corpus, encoded as Sluice routes them.
public func corpusEvents() -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "bench", sourceName: "app"))
    var builder = EventBatchBuilder(byteCapacity: 1 << 19)
    for index in 0..<1000 {
        let line = #"{"ts":"2024-06-01T00:00:\#(index % 50 + 10).123Z","level":"info","svc":"checkout","msg":"request completed","req_id":"8eb714f11b5\#(index)","path":"/api/v1/orders/\#(index)","status":200,"dur_ms":154.11,"ctx":{"user":\#(index * 7),"region":"eu-west-1"}}"#
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}
