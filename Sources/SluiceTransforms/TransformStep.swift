public import SluiceCore
/// One step of a transform, as configured. Steps run in order on each event; a step either
/// reshapes the event's JSON (in place of the bytes, never through a dictionary) or decides
/// whether it goes on.
public enum TransformStep: Sendable {
    case redact(RedactionSettings)
    /// Fields to remove: a dotted path reaches into nested objects (a top-level key spelled
    /// with the dots is removed too).
    case remove([FieldPath])
    /// Top-level keys renamed (`from` → `to`); a field already named `to` is replaced.
    case rename([(from: String, to: String)])
    /// Top-level string fields set (added, or replacing a field of that name).
    case set([(key: String, value: String)])
    /// A top-level field holding JSON text (an object or an array) becomes that value.
    case parseJSON(String)
    /// Only events that satisfy the expression go on; the others are dropped as `filtered`.
    case filter(Expression)
    case sample(SampleSettings)
    case throttle(ThrottleSettings)
    case dedupe(DedupeSettings)

    /// The step's name in the configuration (and in `/metrics`).
    public var kind: String {
        switch self {
        case .redact: "redact"
        case .remove: "remove"
        case .rename: "rename"
        case .set: "set"
        case .parseJSON: "parse_json"
        case .filter: "where"
        case .sample: "sample"
        case .throttle: "throttle"
        case .dedupe: "dedupe"
        }
    }

    /// Whether what the step does to an event depends on the events before it (which ones a
    /// sample keeps, a throttle lets through, a dedupe sees first): such steps see a source's
    /// events one batch at a time, in order.
    public var keepsOrderedState: Bool {
        switch self {
        case .sample, .throttle, .dedupe: true
        default: false
        }
    }
}

extension TransformStep {
    /// The step as a field edit the encoder and `FieldShaper` run fused: `remove`, `rename`
    /// and `set`; nil for the others.
    var fieldEdit: FieldEdit? {
        switch self {
        case .remove(let paths): .remove(paths)
        case .rename(let pairs): .rename(pairs)
        case .set(let pairs): .set(pairs)
        default: nil
        }
    }
}

/// `redact:` what to find and what to write instead.
public struct RedactionSettings: Sendable {
    public var patterns: [RedactionPattern]
    public var regexes: [Pattern]
    public var replacement: String
    /// Top-level fields whose strings (nested ones included) are searched; nil for every field.
    public var fields: [String]?
    /// Key names whose values are secrets (`secrets` pattern and JSON fields of these names).
    public var secretKeys: [String]

    public static let defaultSecretKeys = [
        "password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key", "secret_key", "private_key", "client_secret",
    ]

    public init(patterns: [RedactionPattern], regexes: [Pattern] = [], replacement: String = "[REDACTED]", fields: [String]? = nil, secretKeys: [String] = defaultSecretKeys) {
        self.patterns = patterns
        self.regexes = regexes
        self.replacement = replacement
        self.fields = fields
        self.secretKeys = secretKeys
    }
}

/// `sample:` keep one event in `rate`. With `key`, the choice is made by a hash of the key's
/// value, so all events of one trace are kept or dropped together; with `where`, only matching
/// events are sampled (the others all go on).
public struct SampleSettings: Sendable {
    public var rate: Int
    public var filter: Expression?
    public var key: FieldPath?

    public init(rate: Int, filter: Expression? = nil, key: FieldPath? = nil) {
        self.rate = rate
        self.filter = filter
        self.key = key
    }
}

/// `throttle:` at most `eventsPerSecond` per key on average, bursts of up to `burst` (a token
/// bucket per key value). Keys beyond `maxKeys` share one bucket, and are counted.
public struct ThrottleSettings: Sendable {
    public var eventsPerSecond: Double
    public var burst: Double
    public var key: FieldPath?
    public var maxKeys: Int

    public init(eventsPerSecond: Double, burst: Double, key: FieldPath? = nil, maxKeys: Int = 10_000) {
        self.eventsPerSecond = eventsPerSecond
        self.burst = burst
        self.key = key
        self.maxKeys = maxKeys
    }
}

/// `dedupe:` an event whose `fields` all equal those of one let through less than `window`
/// ago is dropped as a `duplicate`. At most `maxKeys` recent events are remembered (the oldest
/// forgotten first).
public struct DedupeSettings: Sendable {
    public var fields: [FieldPath]
    public var windowNanoseconds: UInt64
    public var maxKeys: Int

    public init(fields: [FieldPath], windowNanoseconds: UInt64, maxKeys: Int = 100_000) {
        self.fields = fields
        self.windowNanoseconds = windowNanoseconds
        self.maxKeys = maxKeys
    }
}

/// A transform as configured: its name, where its events come from, and its steps.
public struct TransformDefinition: Sendable {
    public enum Input: Sendable, Hashable {
        case source(Int)
        case transform(Int)
    }

    public var name: String
    public var inputs: [Input]
    public var steps: [TransformStep]
    /// Per step, text that differs whenever its settings do: a reload keeps the state of a
    /// step whose fingerprint it finds again in the transform of the same name. Empty (no
    /// step carried over) when not given.
    public var stepFingerprints: [String]

    public init(name: String, inputs: [Input], steps: [TransformStep], stepFingerprints: [String] = []) {
        self.name = name
        self.inputs = inputs
        self.steps = steps
        self.stepFingerprints = stepFingerprints
    }
}
