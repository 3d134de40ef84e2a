import Benchmark
import BenchmarkSupport
import Foundation
import SluiceCore
import SluiceSinks
import SwiftProtobuf

/// The `otlp` sink's request encoding, hand-written (what Sluice ships) against the same
/// request built with swift-protobuf's generated messages from the same events, fields found
/// by the same scanner: 1000 events of the shared corpus's shape per iteration, so with
/// `scalingFactor: .kilo` the throughput reads in events per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .perEvent
    let events = corpusEvents()

    Benchmark("otlp_request_hand_written") { benchmark in
        let format = OTLPFormat(encoding: .protobuf, resource: [], labels: [:])
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            let request = RequestBatch(capacity: 1 << 20, nowNanoseconds: 0)
            for position in 0..<events.count { format.append(events[position], sourceName: "app", to: request) }
            blackHole(format.body(of: Array(0..<request.count), in: request).count)
        }
    }

    Benchmark("otlp_request_swift_protobuf") { benchmark in
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1000 {
            blackHole((try? GeneratedOTLP.request(for: events).serializedBytes() as [UInt8])?.count ?? 0)
        }
    }
}

/// The same mapping, written the way swift-protobuf is used: a message per record, attribute
/// and value.
enum GeneratedOTLP {
    static func request(for events: EventBatch) -> Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest {
        var scanner = JSONObjectScanner()
        var scope = Opentelemetry_Proto_Logs_V1_ScopeLogs()
        scope.scope.name = "sluice"
        let observed = UInt64(EventTimestamp.nowMilliseconds()) * 1_000_000
        for position in 0..<events.count {
            let event = events[position]
            guard scanner.scan(event.json) else { continue }
            var record = Opentelemetry_Proto_Logs_V1_LogRecord()
            record.timeUnixNano = UInt64(event.timestampMilliseconds) * 1_000_000
            record.observedTimeUnixNano = observed
            record.severityNumber = 9
            for field in scanner.fields {
                let key = String(decoding: event.json[Int(field.keyStart)..<Int(field.keyEnd)], as: UTF8.self)
                let value = UnsafeRawBufferPointer(rebasing: event.json[Int(field.valueStart)..<Int(field.valueEnd)])
                switch key {
                case "@timestamp", "host", "source": continue
                case "level": record.severityText = string(value)
                case "msg", "message": record.body = anyValue(value)
                default:
                    var attribute = Opentelemetry_Proto_Common_V1_KeyValue()
                    attribute.key = key
                    attribute.value = anyValue(value)
                    record.attributes.append(attribute)
                }
            }
            scope.logRecords.append(record)
        }
        var resource = Opentelemetry_Proto_Logs_V1_ResourceLogs()
        for (key, value) in [("host.name", "bench"), ("sluice.source", "app"), ("service.name", "app")] {
            var attribute = Opentelemetry_Proto_Common_V1_KeyValue()
            attribute.key = key
            attribute.value.stringValue = value
            resource.resource.attributes.append(attribute)
        }
        resource.scopeLogs = [scope]
        var request = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest()
        request.resourceLogs = [resource]
        return request
    }

    private static func string(_ json: UnsafeRawBufferPointer) -> String {
        String(decoding: json.dropFirst().dropLast(), as: UTF8.self)
    }

    private static func anyValue(_ json: UnsafeRawBufferPointer) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var value = Opentelemetry_Proto_Common_V1_AnyValue()
        switch json.first {
        case UInt8(ascii: "\""): value.stringValue = string(json)
        case UInt8(ascii: "t"), UInt8(ascii: "f"): value.boolValue = json.first == UInt8(ascii: "t")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if let object = try? JSONSerialization.jsonObject(with: Data(json)) { value = anyValue(object) }
        case UInt8(ascii: "n"): break
        default:
            let text = String(decoding: json, as: UTF8.self)
            if let integer = Int64(text) { value.intValue = integer } else { value.doubleValue = Double(text) ?? 0 }
        }
        return value
    }

    private static func anyValue(_ object: Any) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var value = Opentelemetry_Proto_Common_V1_AnyValue()
        switch object {
        case let text as String: value.stringValue = text
        case let number as NSNumber: value.doubleValue = number.doubleValue
        case let array as [Any]:
            var list = Opentelemetry_Proto_Common_V1_ArrayValue()
            list.values = array.map(anyValue)
            value.arrayValue = list
        case let dictionary as [String: Any]:
            var list = Opentelemetry_Proto_Common_V1_KeyValueList()
            list.values = dictionary.map { key, member in
                var pair = Opentelemetry_Proto_Common_V1_KeyValue()
                pair.key = key
                pair.value = anyValue(member)
                return pair
            }
            value.kvlistValue = list
        default: break
        }
        return value
    }
}
