/// The transforms between the sources and the ring, as the pipeline runs them (SluiceTransforms'
/// `TransformStage` is the one there is): a source's batch goes in on the publishing thread, and
/// what comes out is published, each batch as an input of its own (sources are inputs
/// `0..<sourceCount`, transform `j` is input `sourceCount + j`).
public protocol BatchTransforms: AnyObject, Sendable {
    /// `batch` of source `source` where sinks want it, then its transforms' outputs that sinks
    /// want, in the order to publish them.
    func outputs(of batch: EventBatch, source: Int) -> [EventBatch]

    /// What `source`'s encoders may do.
    func hints(source: Int) -> TransformHints

    /// Input `index` as these transforms number it, in `next`'s numbering (a reload installed
    /// `next` after the batch was prepared): sources keep theirs, a transform's output takes
    /// the number of the transform of the same name; nil when `next` has no such transform or
    /// no sink takes it.
    func translate(_ index: Int, to next: (any BatchTransforms)?) -> Int?

    /// The input number of the transform called `name`, when some sink takes it.
    func wantedInput(named name: String) -> Int?

    /// The name of the transform whose output is input `index` (nil for a source's).
    func transformName(ofInput index: Int) -> String?

    /// Every transform's name, in the configuration's order.
    var transformNames: [String] { get }

    /// What the transforms removed on purpose, by transform and "step:kind reason" (the exit
    /// summary); transforms that removed nothing are left out.
    var removedEvents: [String: [String: Int]] { get }

    func metricSamples() -> [MetricSample]
}

/// What the transforms let a source's encoders do (`SourceContext.transformHints()`).
public struct TransformHints: Sendable {
    /// Two batches of the source may be prepared at once: no transform they pass has a step
    /// whose state depends on the events' order.
    public var mayRunInParallel = true
    /// Field steps the encoder may run as it writes each event (see `EventEncoder.fuse(_:)`).
    public var fusedShaping: FusedShaping?

    public init(mayRunInParallel: Bool = true, fusedShaping: FusedShaping? = nil) {
        self.mayRunInParallel = mayRunInParallel
        self.fusedShaping = fusedShaping
    }
}

/// The leading `remove`/`rename`/`set` steps of the one transform that reads a source whose own
/// events no sink takes: the encoder writes events already reshaped by them, saving the
/// transform a pass over each event and a copy of it.
public struct FusedShaping: Sendable {
    /// The transform the steps belong to (by identity: a batch says which one pre-shaped it).
    let transform: any AnyObject & Sendable
    let edits: [FieldEdit]

    public init(transform: any AnyObject & Sendable, edits: [FieldEdit]) {
        self.transform = transform
        self.edits = edits
    }
}

/// A field step the encoder can run as it writes an event (and `FieldShaper` runs fused): what
/// a `remove`, `rename` or `set` transform step does.
public enum FieldEdit: Sendable {
    case remove([FieldPath])
    case rename([(from: String, to: String)])
    case set([(key: String, value: String)])
}
