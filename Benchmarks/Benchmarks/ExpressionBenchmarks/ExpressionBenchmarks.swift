import Benchmark
import BenchmarkSupport
import Glibc
import SluiceCore
import SluiceSinks

/// Events shaped like the shared JSON corpus (gen_corpus.py --flavour json).
let messages = [
    "request completed", "user authenticated", "cache miss for key", "order created", "payment authorized",
    "retrying upstream call", "connection pool exhausted, waiting", "slow query detected", "message acknowledged",
    "token refreshed", "rate limit exceeded", "upstream returned error", "inventory reserved", "session expired",
]
let services = ["api-gateway", "checkout", "inventory", "auth", "search", "billing", "notifier", "catalog"]
let levels = ["info", "info", "info", "info", "info", "info", "debug", "warn", "error", "info"]
let lines = (0..<1000).map { index in
    let status = [200, 200, 200, 201, 404, 500, 503, 429, 200, 302][index % 10]
    let error = status >= 500 ? #","error":{"kind":"UpstreamError","code":\#(status)}"# : ""
    return #"{"ts":"2024-06-01T00:00:00.000Z","level":"\#(levels[index % 10])","svc":"\#(services[index % 8])","msg":"\#(messages[index % 14])","req_id":"8eb714f11b591e81","path":"/api/v\#(index % 3)/orders/\#(index)","status":\#(status),"dur_ms":\#(Double(index % 300) + 0.5),"ua":"\#(index % 5 == 0 ? "curl/8.5.0" : "Go-http-client/1.1")","ctx":{"user":\#(index * 7),"region":"\#(["eu-west-1", "us-east-1", "ap-south-1"][index % 3])"}\#(error)}"#
}

func encodedBatch() -> EventBatch {
    var encoder = EventEncoder(format: .auto, metadata: EventMetadata(host: "bench", sourceName: "app", labels: [("service", "checkout")]))
    var builder = EventBatchBuilder(byteCapacity: 1 << 20)
    for line in lines {
        Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    }
    return EventBatch(sourceIndex: 0, builder: builder)
}

/// Twenty rules like a real deployment's, five with regexes.
let ruleConditions = [
    "level >= error", "status >= 500", "status == 404", "dur_ms > 100", #"svc == "checkout""#,
    #"level == warn and svc == "auth""#, "exists(error)", #"error.kind == "UpstreamError""#, "status == 429",
    #"ctx.region == "eu-west-1" and level >= warn"#, "dur_ms > 250 and status < 400", #"svc == "billing" and status >= 400"#,
    #"level == debug and svc == "search""#, "not exists(ctx)", "status >= 300 and status < 400",
    "msg =~ /timeout|refused/", #"path =~ /^\/api\/v2\//"#, "ua =~ /curl/", "msg =~ /pool exhausted/", "ctx.region =~ /^ap-/",
]

let regexSubjects = messages.map { "2024-06-01 ERROR [checkout] upstream: \($0) after 1234ms (attempt 3)" }
let regexSources = [#"timeout|refused"#, #"pool exhausted"#, #"\d+ms"#, #"^2024-\d\d-\d\d ERROR"#]

/// The engine shared by the benchmark's runs, which run one at a time on one thread.
final class EngineBox: @unchecked Sendable {
    let engine: AlertEngine
    var now: UInt64 = 0

    init(_ engine: AlertEngine) { self.engine = engine }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .perEvent
    let batch = encodedBatch()

    // Throughput in events per second: each iteration runs 1000 events through 20 rules. One
    // engine serves every run, as one serves a sink for its whole life: its groups and sample
    // buffers exist after the first events, so the runs measure the steady state.
    let rules = ruleConditions.enumerated().map { index, condition in
        AlertRule(name: "rule\(index)", condition: try! ExpressionParser.parse(condition), threshold: 100, windowNanoseconds: 60_000_000_000,
                  groupBy: index % 2 == 0 ? [FieldPath(["svc"])] : [])
    }
    let engine = EngineBox(AlertEngine(rules: rules))
    // Its allocations are the notifications rules raise (every 100 matches), and how many fall
    // in a run depends on the run: a regression of one allocation per event still shows.
    var alertConfiguration = Benchmark.Configuration.perEvent
    alertConfiguration.thresholds?[.mallocCountTotal] = .init(absolute: [.p90: 500])
    Benchmark("alert_engine_20_rules_5_regex", configuration: alertConfiguration) { benchmark in
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            engine.now += 1_000_000
            blackHole(engine.engine.process(batch, now: engine.now))
        }
    }

    Benchmark("where_one_comparison") { benchmark in
        let matcher = EventMatcher([try! ExpressionParser.parse("level >= warn and status >= 400")])
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            var kept = 0
            for position in 0..<batch.count {
                matcher.load(batch[position])
                if matcher.matches(0) { kept += 1 }
            }
            blackHole(kept)
        }
    }

    // The regex engines side by side: 4 patterns over 1000 log lines per iteration (so the
    // throughput is in thousands of matches per second... of 4 patterns per line).
    let subjects = (0..<1000).map { Array(regexSubjects[$0 % regexSubjects.count].utf8) }
    Benchmark("regex_pcre2_jit") { benchmark in
        let matchers = regexSources.map { try! Pattern($0).matcher() }
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            var hits = 0
            for subject in subjects {
                subject.withUnsafeBytes { bytes in
                    for matcher in matchers where matcher.matches(bytes) { hits += 1 }
                }
            }
            blackHole(hits)
        }
    }

    Benchmark("regex_posix_regexec") { benchmark in
        let posixSources = [#"timeout|refused"#, #"pool exhausted"#, #"[0-9]+ms"#, #"^2024-[0-9][0-9]-[0-9][0-9] ERROR"#]
        let compiled: [UnsafeMutablePointer<regex_t>] = posixSources.map { source in
            let expression = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
            regcomp(expression, source, REG_EXTENDED | REG_NOSUB)
            return expression
        }
        let terminated = subjects.map { $0 + [0] }
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            var hits = 0
            for subject in terminated {
                subject.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { text in
                        for expression in compiled where regexec(expression, text.baseAddress!, 0, nil, 0) == 0 { hits += 1 }
                    }
                }
            }
            blackHole(hits)
        }
    }

    Benchmark("regex_swift_regex") { benchmark in
        let expressions = regexSources.map { try! Regex($0) }
        let strings = subjects.map { String(decoding: $0, as: UTF8.self) }
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            var hits = 0
            for string in strings {
                for expression in expressions where string.contains(expression) { hits += 1 }
            }
            blackHole(hits)
        }
    }
}
