import SluiceCore

/// `GET /api/tap?inputs=NAME,…&where=EXPR&rate=N`: a sample of the events passing the named
/// components, streamed as NDJSON, one `{"component":…,"point":"output"|"input","event":{…}}`
/// per line; a source or transform is seen at its output, a sink at its input. No `inputs`:
/// every source's and transform's output. `rate` (events per second, default 100) samples; a
/// client that reads slower than events come has them dropped. Every 100 ms a
/// `{"tap":{"dropped":N,"sampled_out":M}}` line says what did not come since the last one.
struct TapEndpoint: Sendable {
    let pipeline: Pipeline

    func answer(_ query: [String: String]) -> MetricsServer.Answer {
        let known = pipeline.sourceCounters.map(\.name) + (pipeline.transforms?.transformNames ?? []) + pipeline.sinkRunners.map(\.configuration.name)
        let names = (query["inputs"] ?? "").split(separator: ",").map { String($0).trimmedOfSpaces }.filter { !$0.isEmpty }
        if let unknown = names.first(where: { !known.contains($0) }) {
            return .init(status: 404, contentType: "text/plain", body: "no source, transform or sink is called \"\(unknown)\" (there are: \(known.joined(separator: ", ")))\n")
        }
        var filter: Expression?
        if let text = query["where"], !text.isEmpty {
            do {
                filter = try ExpressionParser.parse(text)
            } catch {
                return .init(status: 400, contentType: "text/plain", body: "where: \(error)\n")
            }
        }
        let rateText = (query["rate"] ?? "100").replacing("/s", with: "")
        guard let rate = Double(rateText), rate > 0, rate <= 1_000_000 else {
            return .init(status: 400, contentType: "text/plain", body: "rate: expected events per second between 1 and 1000000, such as 100/s\n")
        }
        let subscription = TapSubscription(components: Set(names), filter: filter, eventsPerSecond: rate)
        pipeline.taps.subscribe(subscription)
        return .init(status: 200, contentType: "application/x-ndjson", body: "", stream: TapStream(hub: pipeline.taps, subscription: subscription))
    }
}

/// One tap client's stream: what its subscription gathered, and a line for what it lost.
final class TapStream: AnswerStream {
    let hub: TapHub
    let subscription: TapSubscription

    init(hub: TapHub, subscription: TapSubscription) {
        self.hub = hub
        self.subscription = subscription
    }

    func next() -> [UInt8] {
        var drained = subscription.drain()
        let dropped = drained.dropped + hub.takeSkipped()
        if dropped > 0 || drained.sampledOut > 0 {
            drained.lines += Array(#"{"tap":{"dropped":\#(dropped),"sampled_out":\#(drained.sampledOut)}}"#.utf8) + [0x0A]
        }
        return drained.lines
    }

    func close() {
        hub.unsubscribe(subscription)
    }
}

extension String {
    fileprivate var trimmedOfSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
