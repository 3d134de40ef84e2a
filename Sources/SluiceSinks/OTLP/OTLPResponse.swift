import SluiceCore

/// Reads what an OTLP receiver answers: the `partial_success` of an
/// `ExportLogsServiceResponse`, and the message of a `google.rpc.Status` error body, in
/// protobuf or JSON. A body it cannot read gives nothing (or its first bytes, for a message).
enum OTLPResponse {
    static func partialSuccess(_ body: [UInt8], encoding: OTLPRecordEncoder.Encoding) -> (rejected: Int, message: String)? {
        guard !body.isEmpty else { return nil }
        return body.withUnsafeBytes { bytes in
            if encoding == .json || bytes.first == UInt8(ascii: "{") {
                guard let range = JSONLookup.value(atPath: [Array("partialSuccess".utf8)], inObject: bytes) else { return nil }
                let partial = UnsafeRawBufferPointer(rebasing: bytes[range])
                let rejected = JSONLookup.value(forKey: UnsafeRawBufferPointer(("rejectedLogRecords" as StaticString).rawBuffer), inObject: partial)
                    .map { JSONLookup.text(of: UnsafeRawBufferPointer(rebasing: partial[$0])) }.flatMap { Int($0) } ?? 0
                let message = JSONLookup.value(forKey: UnsafeRawBufferPointer(("errorMessage" as StaticString).rawBuffer), inObject: partial)
                    .map { JSONLookup.text(of: UnsafeRawBufferPointer(rebasing: partial[$0])) } ?? ""
                return (rejected, message)
            }
            var reader = ProtobufReader(bytes)
            while let field = reader.next() {
                guard field.number == 1, case .bytes(let partial) = field.value else { continue }
                var inner = ProtobufReader(partial)
                var rejected = 0
                var message = ""
                while let member = inner.next() {
                    switch (member.number, member.value) {
                    case (1, .varint(let count)): rejected = Int(truncatingIfNeeded: count)
                    case (2, .bytes(let text)): message = String(decoding: text, as: UTF8.self)
                    default: break
                    }
                }
                return (rejected, message)
            }
            return nil
        }
    }

    /// The error message of a failed request: `google.rpc.Status.message`, else the body's start.
    static func message(_ body: [UInt8], encoding: OTLPRecordEncoder.Encoding) -> String {
        body.withUnsafeBytes { bytes in
            if bytes.first == UInt8(ascii: "{"), let range = JSONLookup.value(forKey: UnsafeRawBufferPointer(("message" as StaticString).rawBuffer), inObject: bytes) {
                return JSONLookup.text(of: UnsafeRawBufferPointer(rebasing: bytes[range]))
            }
            var reader = ProtobufReader(bytes)
            while let field = reader.next() {
                if field.number == 2, case .bytes(let text) = field.value, let message = String(validating: text, as: UTF8.self) { return message }
            }
            return String(decoding: bytes.prefix(300), as: UTF8.self)
        }
    }
}

extension StaticString {
    var rawBuffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}
