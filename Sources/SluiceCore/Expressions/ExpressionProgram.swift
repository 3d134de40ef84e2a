/// Expressions compiled into flat arrays of plain values, so evaluating one touches no
/// reference counts: nodes refer to children, fields, literals and matchers by index.
struct ExpressionProgram {
    enum Kind: UInt8 {
        case and, or, not, exists, compareNumber, compareString, compareBoolean, compareNull, compareLevel, match
    }

    struct Node {
        var kind: Kind
        var left: Int32 = -1
        var right: Int32 = -1
        var slot: Int32 = -1
        var op: ComparisonOperator = .equal
        /// `compareNumber`: the number; `compareBoolean`: 0 or 1; `compareLevel`: the level.
        var number: Double = 0
        /// `compareString`: the literal's range in `strings`; `match`: the required literal's range.
        var stringStart: Int32 = 0
        var stringEnd: Int32 = 0
        var matcher: Int32 = -1
        var negated = false
        var isLevel = false
    }

    private(set) var nodes: [Node] = []
    /// Every string literal and required regex literal, back to back.
    private(set) var strings: [UInt8] = []
    private(set) var roots: [Int32] = []
    private(set) var paths: [FieldPath] = []
    private(set) var patterns: [Pattern] = []

    /// - Parameter extraFields: fields read by name (`rawValue(of:)`) besides the expressions'.
    init(_ expressions: [Expression], extraFields: [FieldPath] = []) {
        roots = expressions.map { add($0) }
        for path in extraFields { _ = slot(path) }
    }

    private mutating func slot(_ path: FieldPath) -> Int32 {
        if let index = paths.firstIndex(of: path) { return Int32(index) }
        paths.append(path)
        return Int32(paths.count - 1)
    }

    private mutating func string(_ bytes: [UInt8]) -> (Int32, Int32) {
        let start = strings.count
        strings += bytes
        return (Int32(start), Int32(strings.count))
    }

    private mutating func add(_ expression: Expression) -> Int32 {
        var node: Node
        switch expression {
        case .and(let left, let right), .or(let left, let right):
            let leftIndex = add(left)
            let rightIndex = add(right)
            if case .and = expression { node = Node(kind: .and) } else { node = Node(kind: .or) }
            node.left = leftIndex
            node.right = rightIndex
        case .not(let inner):
            node = Node(kind: .not)
            node.left = add(inner)
        case .exists(let path):
            node = Node(kind: .exists)
            node.slot = slot(path)
            node.isLevel = path.isLevel
        case .compare(let path, let op, let literal):
            switch literal {
            case .number(let value):
                node = Node(kind: .compareNumber)
                node.number = value
            case .string(let value):
                node = Node(kind: .compareString)
                (node.stringStart, node.stringEnd) = string(Array(value.utf8))
            case .boolean(let value):
                node = Node(kind: .compareBoolean)
                node.number = value ? 1 : 0
            case .null:
                node = Node(kind: .compareNull)
            case .level(let level):
                node = Node(kind: .compareLevel)
                node.number = Double(level.rawValue)
            }
            node.slot = slot(path)
            node.op = op
            node.isLevel = path.isLevel
        case .match(let path, let regex, let negated):
            node = Node(kind: .match)
            node.slot = slot(path)
            node.negated = negated
            node.isLevel = path.isLevel
            patterns.append(regex.pattern)
            node.matcher = Int32(patterns.count - 1)
            if let required = regex.requiredLiteral {
                (node.stringStart, node.stringEnd) = string(required)
            }
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }
}
