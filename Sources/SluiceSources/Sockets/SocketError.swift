#if canImport(Glibc)
import Glibc
#endif

/// A source could not open, bind or use its file or socket: names the source, the path or
/// address, the operation and the system error.
public struct SocketError: Error, CustomStringConvertible {
    public let source: String
    public let operation: String
    public let target: String
    public let errorNumber: Int32
    public var detail: String?

    public init(source: String, operation: String, target: String, errorNumber: Int32, detail: String? = nil) {
        self.source = source
        self.operation = operation
        self.target = target
        self.errorNumber = errorNumber
        self.detail = detail
    }

    public var description: String {
        let reason = detail ?? "\(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
        return "source \"\(source)\": \(operation) \(target) failed: \(reason)"
    }
}
