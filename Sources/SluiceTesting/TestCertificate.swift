/// A self-signed certificate for 127.0.0.1 and `localhost`, made with the `openssl` command
/// in a scratch directory: the server certificate is its own CA, so a client trusts it only
/// when given the certificate file as its CA file.
public struct TestCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String

    /// Runs `openssl req -x509` in `directory`; throws when openssl is missing or fails.
    public init(in directory: String, name: String = "server") throws {
        certificatePath = "\(directory)/\(name).crt"
        keyPath = "\(directory)/\(name).key"
        let openssl = try ChildProcess(executable: "/usr/bin/openssl", arguments: [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=sluice-test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", keyPath, "-out", certificatePath,
        ], stdout: .null)
        let status = openssl.wait().exitStatus
        guard status == 0 else { throw Failure(message: "openssl req failed (status \(status.map(String.init) ?? "by a signal")): \(openssl.standardError)") }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
