#if canImport(Glibc)
import Glibc
#endif

enum Directories {
    /// Creates the directories leading to `path` (mode 0755), as `mkdir -p` would.
    static func createParent(of path: String, source: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        var status = stat()
        if stat(directory, &status) == 0 { return }
        try createParent(of: directory, source: source)
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw SocketError(source: source, operation: "mkdir", target: directory, errorNumber: errno)
        }
    }
}
