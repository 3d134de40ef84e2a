/// The configuration as Sluice will run it: every key read, with defaults filled in and
/// secrets redacted, in reading order. `sluice validate` prints it.
public final class EffectiveConfiguration: @unchecked Sendable {
    // @unchecked: built by one thread while the configuration is read, then only rendered.
    private final class Entry {
        var value: String?
        /// What a comparison uses when it differs from the printed value (a secret's hash).
        var comparable: String?
        var children: [(String, Entry)] = []
        /// A list of maps (alert rules, transform steps): its children, keyed by index, are
        /// printed as `- ` items so the printed configuration loads back.
        var isList = false

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

    func record(_ path: [String], _ value: String, comparable: String? = nil) {
        var entry = root
        for key in path { entry = entry.child(key) }
        entry.value = value
        entry.comparable = comparable
    }

    func recordSection(_ path: [String], isList: Bool = false) {
        var entry = root
        for key in path { entry = entry.child(key) }
        if isList { entry.isList = true }
    }

    /// YAML text: the whole configuration, or only the top-level section `only`.
    public func render(only section: String? = nil) -> String {
        if let section { return render(root.children.filter { $0.0 == section }, comparing: false) }
        return render(root.children, comparing: false)
    }

    /// The section at `path` (`["sinks", "search"]`) as text that differs whenever its effective
    /// settings do, secrets included (by a hash valid in this process only): a reload compares
    /// it to tell a changed sink from an unchanged one. Never printed.
    public func fingerprint(of path: [String]) -> String {
        var entry: Entry? = root
        for key in path { entry = entry?.children.first { $0.0 == key }?.1 }
        guard let entry else { return "" }
        return render([(path.last ?? "", entry)], comparing: true)
    }

    /// Like `fingerprint(of:)`, of what is under `path` without its own name: two list items
    /// with the same settings (a transform's steps) have the same one.
    public func contentFingerprint(of path: [String]) -> String {
        var entry: Entry? = root
        for key in path { entry = entry?.children.first { $0.0 == key }?.1 }
        guard let entry else { return "" }
        return render(entry.children, comparing: true)
    }

    private func render(_ top: [(String, Entry)], comparing: Bool) -> String {
        var lines: [String] = []
        func walk(_ children: [(String, Entry)], indent: Int) {
            for (key, child) in children {
                let prefix = String(repeating: "  ", count: indent) + Self.quoteIfNeeded(key) + ":"
                if let value = comparing ? child.comparable ?? child.value : child.value {
                    lines.append(prefix + " " + value)
                } else if child.isList {
                    lines.append(prefix + (child.children.isEmpty ? " []" : ""))
                    for (_, item) in child.children { walkItem(item, indent: indent + 1) }
                } else if child.children.isEmpty {
                    lines.append(prefix + " {}")
                } else {
                    lines.append(prefix)
                    walk(child.children, indent: indent + 1)
                }
            }
        }
        // A list item's keys one level deeper than its `- `, the first on the dash's line.
        func walkItem(_ item: Entry, indent: Int) {
            let dash = String(repeating: "  ", count: indent) + "- "
            guard !item.children.isEmpty else {
                lines.append(dash + "{}")
                return
            }
            let first = lines.count
            walk(item.children, indent: indent + 1)
            lines[first] = dash + lines[first].dropFirst(dash.count)
        }
        walk(top, indent: 0)
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
