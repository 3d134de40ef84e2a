public import SluiceConfig

#if canImport(Glibc)
import Glibc
#endif

extension ConfigReader {
    /// A file mode in octal (`"0660"`, `660`, `0o660`).
    public func fileMode(_ key: String, default defaultValue: UInt32) -> UInt32 {
        let text = string(key, default: "0" + String(defaultValue, radix: 8))
        var digits = Substring(text)
        if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
        guard let mode = UInt32(digits, radix: 8), mode <= 0o7777 else {
            reportInvalid(key, "expected an octal file mode such as \"0660\", found \"\(text)\"")
            return defaultValue
        }
        return mode
    }

    /// A user (`owner`) by name or number; nil when absent.
    public func userID(_ key: String) -> UInt32? {
        guard let text = optionalString(key) else { return nil }
        if let number = UInt32(text) { return number }
        guard let entry = getpwnam(text) else {
            reportInvalid(key, "no user named \"\(text)\"")
            return nil
        }
        return entry.pointee.pw_uid
    }

    /// A group by name or number; nil when absent.
    public func groupID(_ key: String) -> UInt32? {
        guard let text = optionalString(key) else { return nil }
        if let number = UInt32(text) { return number }
        guard let entry = getgrnam(text) else {
            reportInvalid(key, "no group named \"\(text)\"")
            return nil
        }
        return entry.pointee.gr_gid
    }
}
