public import SluiceComponentConfig
public import SluiceConfig
public import SluiceCore

/// `type: otlp`: OpenTelemetry logs over OTLP/HTTP.
///
/// | key | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `endpoint` | URL | `http://127.0.0.1:4318` | the receiver; Sluice POSTs to `{endpoint}/v1/logs` |
/// | `encoding` | `protobuf`, `json` | `protobuf` | the body |
/// | `resource` | map | none | resource attributes for every record (`service.name`, ...); they win over what events say |
/// | `batch.max_events`, `batch.max_bytes`, `batch.timeout` | | `1000`, `4MiB`, `1s` | |
///
/// Plus the keys shared with `elasticsearch` and `http` (`headers`, secrets; `compression`,
/// gzip by default; `tls`; `retry`; `dead_letter`; `max_in_flight`; `timeout`).
public struct OTLPSinkSettings: Sendable {
    public var delivery: HTTPDeliverySettings
    public var encoding: String
    public var resource: [(key: String, value: String)]

    public init(reading reader: ConfigReader) {
        var endpoint = reader.string("endpoint", default: "http://127.0.0.1:4318")
        HTTPDeliverySettings.checkURL(endpoint, key: "endpoint", reader: reader)
        // The base URL is wanted; `{endpoint}/v1/logs` given whole is taken as meant.
        if endpoint.hasSuffix("/v1/logs") { endpoint.removeLast("/v1/logs".count) }
        encoding = reader.choice("encoding", default: OTLPRecordEncoder.Encoding.protobuf).rawValue
        resource = reader.stringMap("resource")
        delivery = HTTPDeliverySettings(
            reading: reader, endpoint: endpoint, authorization: nil, healthCheck: false, defaultMaxEvents: 1000, defaultMaxBytes: 4 << 20
        )
    }

    /// The sink, given the label names of each source (they become resource attributes).
    public func makeSink(name: String, labels: [String: Set<String>]) throws -> SinkMaker {
        let format = OTLPFormat(encoding: OTLPRecordEncoder.Encoding(rawValue: encoding) ?? .protobuf, resource: resource, labels: labels)
        return try HTTPDeliverySink.maker(name: name, settings: delivery, format: format)
    }
}

extension OTLPSinkSettings {
    /// `type: otlp` (a sink).
    public static let registration = SinkRegistration(type: "otlp") { name, reader, context in
        let settings = OTLPSinkSettings(reading: reader)
        return SinkBlueprint { try settings.makeSink(name: name, labels: context.sourceLabels) }
    }
}
