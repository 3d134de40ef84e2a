/// The configuration as Sluice will run it: every key read, with defaults filled in and
/// secrets redacted, in reading order. `sluice validate` prints it.
public final class EffectiveConfiguration: @unchecked Sendable {
    // @unchecked: built by one thread while the configuration is read, then only rendered.
    private final class Entry {
        var value: String?
        var children: [(String, Entry)] = []

        func child(_ key: String) -> Entry {
            if let existing = children.first(where: { $0.0 == key }) { return existing.1 }
            let entry = Entry()
            children.append((key, entry))
            return entry
        }
    }

    public static let redacted = "<redacted>"
    private let root = Entry()

    public init() {}

    func record(_ path: [String], _ value: String) {
        var entry = root
        for key in path { entry = entry.child(key) }
        entry.value = value
    }

    func recordSection(_ path: [String]) {
        var entry = root
        for key in path { entry = entry.child(key) }
    }

    /// YAML text: the whole configuration, or only the top-level section `only`.
    public func render(only section: String? = nil) -> String {
        var lines: [String] = []
        func walk(_ entry: Entry, indent: Int) {
            for (key, child) in entry.children {
                let prefix = String(repeating: "  ", count: indent) + Self.quoteIfNeeded(key) + ":"
                if let value = child.value {
                    lines.append(prefix + " " + value)
                } else if child.children.isEmpty {
                    lines.append(prefix + " {}")
                } else {
                    lines.append(prefix)
                    walk(child, indent: indent + 1)
                }
            }
        }
        if let section {
            let top = Entry()
            top.children = root.children.filter { $0.0 == section }
            walk(top, indent: 0)
        } else {
            walk(root, indent: 0)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A scalar as YAML, quoted when plain style would change its meaning.
    static func quoteIfNeeded(_ text: String) -> String {
        let special = Set(":#{}[],&*!|>'\"%@`\\")
        let needsQuotes = text.isEmpty || text.contains(where: { special.contains($0) || $0.isNewline })
            || text.first == " " || text.last == " " || text.first == "-" || text.first == "?"
            || ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(text.lowercased())
        guard needsQuotes else { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
