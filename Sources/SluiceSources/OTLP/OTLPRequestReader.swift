import NIOHTTP1
import SluiceCore

/// How much one `otlp` request may be and make.
struct OTLPLimits: Sendable {
    /// `max_body`: the body, compressed and decompressed.
    var maxBodyBytes: Int
    /// `max_records`: log records in one request.
    var maxRecords: Int
    /// `max_decoded`: the request's events, as Sluice writes them.
    var maxDecodedBytes: Int

    /// How far ahead of what a request holds its reservation is grown, so the budget is not
    /// asked at every record.
    static let reservationStep = 256 * 1024
}

/// A request's events, encoded, with their counts (added to the source's once the request is
/// taken) and the memory they hold until they are published.
struct OTLPAcceptedRequest: Sendable {
    var batches: [EventBatch]
    var counts: EncodingCounts
    var reservation: RequestReservation

    var events: Int { counts.events }
}

/// Encodes a request's event lines into batches of at most about 512 KiB (what a ring slot is
/// sized for), growing the request's reservation as they fill; nil when the budget refuses.
typealias OTLPEncode = @Sendable (UnsafeRawBufferPointer, RequestReservation) -> (batches: [EventBatch], counts: EncodingCounts)?

/// What a request came to.
struct OTLPAnswer {
    var status: Int
    var message: String?
    var retryAfter: Bool = false
    var closeConnection = false
}

/// Reads one request: its path, method, token, content type and encoding, its body within the
/// limits and the process-wide budget, and hands its events to `accept` (the source's queue),
/// which says whether they were taken (200) or not (503).
enum OTLPRequestReader {
    static func answer(
        method: HTTPMethod, path: String, contentType: String?, contentEncoding: String?, authorization: String?,
        body: UnsafeRawBufferPointer, settings: OTLPReceiver.Settings, reservation: RequestReservation, encode: OTLPEncode,
        accept: (OTLPAcceptedRequest) -> Bool
    ) -> OTLPAnswer {
        guard path == "/v1/logs" else { return OTLPAnswer(status: 404, message: "not found: OTLP logs are received at POST /v1/logs") }
        guard method == .POST else { return OTLPAnswer(status: 405, message: "only POST is accepted at /v1/logs") }
        if let token = settings.bearerToken, authorization != "Bearer \(token)" {
            return OTLPAnswer(status: 401, message: "a bearer token is required")
        }
        let kind = contentType?.split(separator: ";").first.map { String($0).trimmingBlanks.lowercased() }
        guard kind == "application/x-protobuf" || kind == "application/json" else {
            return OTLPAnswer(status: 415, message: "send application/x-protobuf or application/json, not \(contentType ?? "nothing")")
        }
        let limits = settings.limits
        var decompressed: [UInt8]?
        switch contentEncoding?.lowercased() {
        case nil, "", "identity": break
        case "gzip":
            do throws(BoundedGunzip.Failure) {
                decompressed = try BoundedGunzip.decompress(body, limit: limits.maxBodyBytes) { produced in
                    reservation.grow(to: body.count + produced + OTLPLimits.reservationStep)
                }
            } catch {
                switch error {
                case .tooLarge: return OTLPAnswer(status: 413, message: "the decompressed body is larger than max_body (\(limits.maxBodyBytes) bytes)")
                case .corrupt(let reason): return OTLPAnswer(status: 400, message: reason)
                case .overloaded: return overloaded()
                }
            }
        default:
            return OTLPAnswer(status: 415, message: "Content-Encoding \(contentEncoding ?? "") is not supported (gzip or none)")
        }
        let read = reservation.bytes
        var lines = ByteWriter(capacity: 4096)
        let decoded = { (bytes: UnsafeRawBufferPointer) -> Result<Int, OTLPDecodingError> in
            do throws(OTLPDecodingError) {
                if kind == "application/json" {
                    return .success(try decodeJSON(bytes, into: &lines, limits: limits, reservation: reservation, base: read))
                }
                var protobuf = OTLPProtobufEvents()
                return .success(try protobuf.write(bytes, into: &lines, limits: limits) { reservation.grow(to: read + $0) })
            } catch {
                return .failure(error)
            }
        }
        let records: Int
        switch decompressed.map({ $0.withUnsafeBytes(decoded) }) ?? decoded(body) {
        case .success(let count): records = count
        case .failure(let error) where error.status == 503: return overloaded()
        case .failure(let error) where error.status == 413: return OTLPAnswer(status: 413, message: error.description)
        case .failure(let error): return OTLPAnswer(status: 400, message: "the body is not an ExportLogsServiceRequest: \(error)")
        }
        decompressed = nil
        guard records > 0 else { return OTLPAnswer(status: 200) }
        // The body and its decompressed copy go with this answer; the lines, until encoded.
        guard reservation.grow(to: read + lines.count), let encoded = encode(lines.bytes, reservation) else {
            return overloaded()
        }
        let events = encoded.batches.reduce(0) { $0 + $1.bytes.count }
        guard events <= limits.maxDecodedBytes else {
            return OTLPAnswer(status: 413, message: "the request's events are larger than max_decoded (\(limits.maxDecodedBytes) bytes)")
        }
        // From now on the request holds its batches only.
        reservation.shrink(to: events)
        guard accept(OTLPAcceptedRequest(batches: encoded.batches, counts: encoded.counts, reservation: reservation)) else {
            return OTLPAnswer(status: 503, message: "Sluice is holding its inputs back; retry", retryAfter: true)
        }
        return OTLPAnswer(status: 200)
    }

    static func overloaded() -> OTLPAnswer {
        OTLPAnswer(status: 503, message: OTLPDecodingError.overloaded.description, retryAfter: true)
    }

    /// OTLP/JSON, through Foundation's parser, whose objects cost about 160 bytes each: the
    /// objects (`{`) are counted first and their cost reserved, so a body of empty objects is
    /// refused before it is parsed.
    private static func decodeJSON(
        _ bytes: UnsafeRawBufferPointer, into lines: inout ByteWriter, limits: OTLPLimits, reservation: RequestReservation, base: Int
    ) throws(OTLPDecodingError) -> Int {
        var objects = 0
        var index = 0
        while let brace = bytes.firstOffset(of: UInt8(ascii: "{"), from: index) {
            objects += 1
            index = brace + 1
        }
        guard objects <= limits.maxRecords * 16 else { throw .tooLarge("the request holds more objects than max_records (\(limits.maxRecords)) log records could") }
        guard reservation.grow(to: base + objects * 160) else { throw .overloaded }
        var json = ByteWriter(capacity: 4096)
        var count = 0
        try OTLPRequestDecoder.decodeJSON(bytes) { resource, scope, record in
            OTLPEventWriter.write(record, resource: resource, scope: scope, into: &json)
            lines.append(json.bytes)
            lines.append(0x0A)
            count += 1
        }
        guard count <= limits.maxRecords else { throw .tooLarge("the request holds more than max_records (\(limits.maxRecords)) log records") }
        guard lines.count <= limits.maxDecodedBytes else { throw .tooLarge("the request's events are larger than max_decoded (\(limits.maxDecodedBytes) bytes)") }
        return count
    }
}

extension String {
    var trimmingBlanks: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
