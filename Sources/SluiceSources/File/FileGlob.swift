import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// An `include` or `exclude` pattern: an absolute path whose names may hold `*`, `?` and
/// `[...]` (matched within one name, as `fnmatch(3)` does), and `**` as a whole name for any
/// number of directories, including none. An `exclude` pattern without `/` is matched against
/// the file's name alone (`*.gz`).
struct FileGlob: Sendable {
    let pattern: String
    /// The pattern's names, after the root.
    private let names: [String]
    /// The longest leading directory without wildcards: where a scan starts.
    let root: String
    private let rootNameCount: Int
    private let matchesNameOnly: Bool

    init(_ pattern: String) {
        self.pattern = pattern
        matchesNameOnly = !pattern.contains("/")
        names = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var literal = 0
        while literal < names.count - 1, !Self.hasWildcard(names[literal]) { literal += 1 }
        rootNameCount = matchesNameOnly ? 0 : literal
        root = "/" + names.prefix(rootNameCount).joined(separator: "/")
    }

    /// Whether the file at `path` (absolute) matches.
    func matches(_ path: String) -> Bool {
        let pathNames = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if matchesNameOnly { return pathNames.last.map { Self.nameMatches(names.first ?? "", $0) } ?? false }
        return Self.match(names[...], pathNames[...])
    }

    /// Whether files under the directory `path` could match (a scan goes into it).
    func mayContain(directory path: String) -> Bool {
        guard !matchesNameOnly else { return true }
        let pathNames = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        return Self.matchPrefix(names[...], pathNames[...])
    }

    static func hasWildcard(_ name: String) -> Bool {
        name.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func nameMatches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, FNM_PERIOD) == 0
    }

    private static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            var remaining = path
            while true {
                if match(rest, remaining) { return true }
                guard !remaining.isEmpty else { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let name = path.first, nameMatches(first, name) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    /// Whether `path` (a directory) is, or can be extended to, a match of `pattern`.
    private static func matchPrefix(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let name = path.first else { return !pattern.isEmpty }
        guard let first = pattern.first else { return false }
        if first == "**" { return true }
        guard nameMatches(first, name) else { return false }
        return matchPrefix(pattern.dropFirst(), path.dropFirst())
    }
}

/// Every file under the patterns' roots that an include matches and no exclude does, and every
/// directory visited on the way (the ones to watch for new files). Symlinks are followed, each
/// directory visited once (so a link loop ends), at most `maxDepth` deep.
struct FileScan {
    var files: [String] = []
    var directories: [String] = []
    private var visited: Set<DirectoryKey> = []
    static let maxDepth = 32

    private struct DirectoryKey: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    static func run(includes: [FileGlob], excludes: [FileGlob], under roots: [String]? = nil) -> FileScan {
        var scan = FileScan()
        for root in roots ?? Array(Set(includes.map(\.root))).sorted() {
            scan.walk(root, depth: 0, includes: includes, excludes: excludes)
        }
        return scan
    }

    private mutating func walk(_ directory: String, depth: Int, includes: [FileGlob], excludes: [FileGlob]) {
        var status = stat()
        guard depth <= Self.maxDepth, stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return }
        guard visited.insert(DirectoryKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))).inserted else { return }
        directories.append(directory)
        let base = directory == "/" ? "" : directory
        for name in directoryNames(in: directory) {
            let path = base + "/" + name
            guard stat(path, &status) == 0 else { continue }
            if status.st_mode & S_IFMT == S_IFDIR {
                if includes.contains(where: { $0.mayContain(directory: path) }) {
                    walk(path, depth: depth + 1, includes: includes, excludes: excludes)
                }
            } else if status.st_mode & S_IFMT == S_IFREG, Self.selects(path, includes: includes, excludes: excludes) {
                files.append(path)
            }
        }
    }

    static func selects(_ path: String, includes: [FileGlob], excludes: [FileGlob]) -> Bool {
        includes.contains { $0.matches(path) } && !excludes.contains { $0.matches(path) }
    }
}
