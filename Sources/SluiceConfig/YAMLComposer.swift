import CYAML

/// Builds a `ConfigNode` tree from libyaml's parse events: scalars stay the text written (no
/// implicit typing: Sluice types each value itself, with errors naming the key), anchors are
/// remembered and aliases expanded within `YAMLAliasLimits.maxExpandedValues` values, and
/// nesting is bounded so a hostile file cannot exhaust the stack.
struct YAMLComposer {
    struct SyntaxError: Error {
        let message: String
    }

    /// Deeper than any configuration needs, far shallower than the stack allows.
    static let maxDepth = 64

    let file: String
    private var anchors: [String: (node: ConfigNode, values: Int)] = [:]
    /// Values still allowed, aliases expanded.
    private var budget = YAMLAliasLimits.maxExpandedValues

    init(file: String) {
        self.file = file
    }

    /// The document's root; nil for an empty stream.
    mutating func compose(_ text: String) throws -> ConfigNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else { throw SyntaxError(message: "\(file): the YAML parser could not start (out of memory)") }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var events = EventStream(parser: &parser, file: file)
            return try composeStream(&events)
        }
    }

    private mutating func composeStream(_ events: inout EventStream) throws -> ConfigNode? {
        try events.expect(YAML_STREAM_START_EVENT)
        var root: ConfigNode?
        var documents = 0
        while true {
            let event = try events.next()
            defer { event.release() }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw SyntaxError(message: "\(file):\(event.line):\(event.column): YAML syntax error: expected a single document in the stream, but found another document")
                }
                anchors = [:]
                var values = 0
                root = try composeNode(&events, first: try events.next(), path: [], depth: 0, values: &values)
                try events.expect(YAML_DOCUMENT_END_EVENT)
            default:
                throw SyntaxError(message: "\(file):\(event.line):\(event.column): YAML syntax error: unexpected event")
            }
        }
    }

    /// The node that starts with `event` (which this releases), its subtree read from `events`.
    /// `values` grows by the node's count of values, aliases expanded.
    private mutating func composeNode(_ events: inout EventStream, first event: YAMLEvent, path: [String], depth: Int, values: inout Int) throws -> ConfigNode {
        defer { event.release() }
        let origin = ConfigOrigin(file: file, line: event.line)
        guard depth < Self.maxDepth else {
            throw ConfigIssue(path: "", message: "\(file):\(event.line):\(event.column): the YAML is nested more than \(Self.maxDepth) deep; Sluice refuses it")
        }
        let node: ConfigNode
        var ownValues = 1
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = event.aliasName
            guard let anchored = anchors[name] else {
                throw SyntaxError(message: "\(file):\(event.line):\(event.column): YAML syntax error: found undefined alias \(name)")
            }
            try spend(anchored.values, path: path, origin: origin)
            values += anchored.values
            return anchored.node
        case YAML_SCALAR_EVENT:
            try spend(1, path: path, origin: origin)
            let text = event.scalarText
            let isNull = event.isPlainScalar && ["", "~", "null", "Null", "NULL"].contains(text)
            node = isNull ? .null(origin) : .scalar(text, origin)
        case YAML_SEQUENCE_START_EVENT:
            try spend(1, path: path, origin: origin)
            var elements: [ConfigNode] = []
            while true {
                let next = try events.next()
                if next.type == YAML_SEQUENCE_END_EVENT { next.release(); break }
                elements.append(try composeNode(&events, first: next, path: path + ["\(elements.count)"], depth: depth + 1, values: &ownValues))
            }
            node = .list(elements, origin)
        case YAML_MAPPING_START_EVENT:
            try spend(1, path: path, origin: origin)
            var entries: [(key: String, value: ConfigNode)] = []
            while true {
                let next = try events.next()
                if next.type == YAML_MAPPING_END_EVENT { next.release(); break }
                // A key is its text, whatever it spells (`null:` is the key "null"); aliases as
                // keys are refused before parsing (YAMLAliasLimits).
                guard next.type == YAML_SCALAR_EVENT else {
                    next.release()
                    throw ConfigIssue(path: path.joined(separator: "."), message: "map keys must be plain text", origin: origin)
                }
                let name = next.scalarText
                next.release()
                try spend(1, path: path, origin: origin)
                entries.append((name, try composeNode(&events, first: try events.next(), path: path + [name], depth: depth + 1, values: &ownValues)))
            }
            node = .map(entries, origin)
        default:
            throw SyntaxError(message: "\(file):\(event.line):\(event.column): YAML syntax error: unexpected event")
        }
        if let anchor = event.anchor { anchors[anchor] = (node, ownValues) }
        values += ownValues
        return node
    }

    private mutating func spend(_ values: Int, path: [String], origin: ConfigOrigin) throws {
        budget -= values
        if budget < 0 {
            throw ConfigIssue(
                path: path.joined(separator: "."),
                message: "the YAML expands to more than \(YAMLAliasLimits.maxExpandedValues) values once its aliases are expanded; Sluice refuses it", origin: origin
            )
        }
    }
}

/// libyaml's parser as a sequence of events, each failure a `SyntaxError` naming file, line
/// and column as `file:line:column: YAML syntax error: problem (context, from line L column C)`.
private struct EventStream {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    let file: String

    init(parser: UnsafeMutablePointer<yaml_parser_t>, file: String) {
        self.parser = parser
        self.file = file
    }

    func next() throws -> YAMLEvent {
        let event = YAMLEvent()
        guard yaml_parser_parse(parser, event.raw) != 0 else {
            event.raw.deallocate()
            throw YAMLComposer.SyntaxError(message: syntaxErrorMessage())
        }
        return event
    }

    func expect(_ type: yaml_event_type_t) throws {
        let event = try next()
        defer { event.release() }
        guard event.type == type else {
            throw YAMLComposer.SyntaxError(message: "\(file):\(event.line):\(event.column): YAML syntax error: unexpected content")
        }
    }

    private func syntaxErrorMessage() -> String {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown problem"
        let mark = state.problem_mark
        var during = ""
        if let context = state.context {
            during = " (\(String(cString: context)), from line \(state.context_mark.line + 1) column \(state.context_mark.column + 1))"
        }
        return "\(file):\(mark.line + 1):\(mark.column + 1): YAML syntax error: \(problem)\(during)"
    }
}

/// One parse event, owned until `release()`.
private struct YAMLEvent {
    let raw: UnsafeMutablePointer<yaml_event_t>

    init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: yaml_event_t())
    }

    func release() {
        yaml_event_delete(raw)
        raw.deallocate()
    }

    var type: yaml_event_type_t { raw.pointee.type }
    /// 1-based, as editors count.
    var line: Int { Int(raw.pointee.start_mark.line) + 1 }
    var column: Int { Int(raw.pointee.start_mark.column) + 1 }

    var scalarText: String {
        let scalar = raw.pointee.data.scalar
        guard let value = scalar.value else { return "" }
        return String(decoding: UnsafeBufferPointer(start: value, count: Int(scalar.length)), as: UTF8.self)
    }

    var isPlainScalar: Bool { raw.pointee.data.scalar.style == YAML_PLAIN_SCALAR_STYLE }

    var aliasName: String {
        raw.pointee.data.alias.anchor.map { String(cString: $0) } ?? ""
    }

    /// The anchor a scalar, sequence or mapping declares (`&name`).
    var anchor: String? {
        let pointer: UnsafeMutablePointer<yaml_char_t>?
        switch type {
        case YAML_SCALAR_EVENT: pointer = raw.pointee.data.scalar.anchor
        case YAML_SEQUENCE_START_EVENT: pointer = raw.pointee.data.sequence_start.anchor
        case YAML_MAPPING_START_EVENT: pointer = raw.pointee.data.mapping_start.anchor
        default: pointer = nil
        }
        return pointer.map { String(cString: $0) }
    }
}
