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
