import NIOSSL

/// What an HTTP transport error says to an operator. TLS handshake failures name BoringSSL's
/// reason (`CERTIFICATE_VERIFY_FAILED`) and what to configure, without the library's internals
/// (error numbers, source paths); anything else is described as the client library does.
enum TransportErrorDescription {
    static func describe(_ error: any Error) -> String {
        guard let tlsError = error as? NIOSSLError, case .handshakeFailed(let underlying) = tlsError else {
            return "\(error)"
        }
        let reasons = reasonNames(in: "\(underlying)")
        let reason = reasons.isEmpty ? "\(underlying)" : reasons.joined(separator: ", ")
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS handshake failed: \(reason): the server's certificate is not trusted "
                + "(set tls.ca_file to the CA that signed it; tls.verify: false skips the check)"
        }
        return "TLS handshake failed: \(reason)"
    }

    /// The reason names in BoringSSL's error strings:
    /// `error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at ...`.
    private static func reasonNames(in text: String) -> [String] {
        text.split(separator: "OPENSSL_internal:").dropFirst().map { part in
            String(part.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        }.filter { !$0.isEmpty }
    }
}
