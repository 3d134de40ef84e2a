#if canImport(Glibc)
import Glibc
#endif

/// This process's own memory, from /proc/self/status.
///
/// `VmHWM` counts only the process's own address space. (`getrusage`'s `ru_maxrss` also
/// counts the address space a process had before `exec`, which for a `posix_spawn`ed child is
/// its parent's.)
enum ProcessMemory {
    static var peakResidentKilobytes: Int? { field("VmHWM:") }
    static var residentKilobytes: Int? { field("VmRSS:") }

    /// User plus system CPU time of the whole process, in seconds.
    static var cpuSeconds: Double? {
        guard let file = fopen("/proc/self/stat", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1024)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the command name (in parentheses): state is field 3, utime 14, stime 15.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func field(_ name: String) -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(name) else { continue }
            return Int(text.dropFirst(name.count).filter(\.isNumber))
        }
        return nil
    }
}
