public import SluiceConfig

#if canImport(Glibc)
import Glibc
#endif

extension ConfigReader {
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
