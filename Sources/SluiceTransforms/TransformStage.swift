public import SluiceCore
/// The transforms between the sources and the ring. A source's batch goes through every
/// transform that reads it (directly or through other transforms), on the publishing thread,
/// and each output is published as an input of its own: sources are inputs `0..<sourceCount`,
/// transform `j` is input `sourceCount + j`, and a sink takes the inputs it names. An input no
/// sink takes is not published (a source whose every sink reads its transform costs no extra
/// ring slot).
///
/// A reload builds a new stage (see `TransformShared` for what carries over) and installs it with
/// the new ring (`PublishRoute`); a batch prepared by the previous stage and published after
/// that is relabelled to the new stage's numbering by transform name (`translate`).
///
/// Each publishing thread runs the transforms with runners of its own (`ThreadRunners`), found
/// without a lock.
///
/// `@unchecked Sendable`: after `init` nothing changes but the shared transforms' state, which
/// guards itself.
public final class TransformStage: BatchTransforms, @unchecked Sendable {
    public let shared: [TransformShared]
    let sourceCount: Int
    /// Inputs some sink takes.
    private let wantedInputs: Set<Int>
    /// Per source: the transforms its batches pass, in an order where inputs come first, each
    /// with its inputs among what that source's batches become.
    private let plans: [[(transform: Int, inputs: [TransformDefinition.Input])]]
    /// Per source and node: how many transforms take it, to know (with the sinks) when a
    /// batch may be passed on instead of copied.
    private let takers: [[TransformDefinition.Input: Int]]
    /// Per source: what its encoders may do (see `TransformHints`).
    private let hints: [TransformHints]

    /// `definitions` must be valid (inputs exist, no cycles): the configuration checks that.
    public init(definitions: [TransformDefinition], sourceCount: Int, wanted: Set<Int>, replacing running: TransformStage? = nil) {
        shared = definitions.map { definition in
            TransformShared(definition, replacing: running?.shared.first { $0.definition.name == definition.name })
        }
        self.sourceCount = sourceCount
        wantedInputs = wanted
        let order = Self.topologicalOrder(definitions)
        var plans: [[(transform: Int, inputs: [TransformDefinition.Input])]] = []
        var takers: [[TransformDefinition.Input: Int]] = []
        for source in 0..<sourceCount {
            var reached: Set<TransformDefinition.Input> = [.source(source)]
            var plan: [(transform: Int, inputs: [TransformDefinition.Input])] = []
            var counts: [TransformDefinition.Input: Int] = [:]
            for transform in order {
                let inputs = definitions[transform].inputs.filter(reached.contains)
                guard !inputs.isEmpty else { continue }
                reached.insert(.transform(transform))
                plan.append((transform, inputs))
                for input in inputs { counts[input, default: 0] += 1 }
            }
            plans.append(plan)
            takers.append(counts)
        }
        self.plans = plans
        self.takers = takers
        let shared = shared
        hints = plans.enumerated().map { source, plan in
            let orderFree = plan.allSatisfy { step in !definitions[step.transform].steps.contains(where: \.keepsOrderedState) }
            // The encoder may run the leading field steps of the one transform that reads the
            // source, when no sink takes the source's own events.
            var fused: FusedShaping?
            if !wanted.contains(source), takers[source][.source(source)] == 1,
               let reader = plan.first(where: { $0.inputs.contains(.source(source)) }) {
                let leading = definitions[reader.transform].steps.prefix { $0.fieldEdit != nil }.compactMap(\.fieldEdit)
                if !leading.isEmpty { fused = FusedShaping(transform: shared[reader.transform], edits: leading) }
            }
            return TransformHints(mayRunInParallel: orderFree, fusedShaping: fused)
        }
    }

    /// `batch` of source `source` where sinks want it, then its transforms' outputs that sinks
    /// want, in the order to publish them.
    public func outputs(of batch: EventBatch, source: Int) -> [EventBatch] {
        let wanted = wantedInputs
        var published: [EventBatch] = wanted.contains(source) ? [batch] : []
        var outputs: [TransformDefinition.Input: [EventBatch]] = [.source(source): [batch]]
        let runners = ThreadRunners.current(for: self)
        for (transform, inputs) in plans[source] {
            let runner = runners.runner(transform, of: shared)
            var results: [EventBatch] = []
            for input in inputs {
                let mayReuse = takers[source][input] == 1 && !wanted.contains(index(of: input))
                for item in outputs[input] ?? [] {
                    if let output = runner.apply(item, outputIndex: sourceCount + transform, mayReuse: mayReuse) { results.append(output) }
                }
            }
            outputs[.transform(transform)] = results
            if wanted.contains(sourceCount + transform) { published += results }
        }
        return published
    }

    /// What `source`'s encoders may do.
    public func hints(source: Int) -> TransformHints {
        hints[source]
    }

    public func translate(_ index: Int, to next: (any BatchTransforms)?) -> Int? {
        guard index >= sourceCount else { return index }
        return next?.wantedInput(named: shared[index - sourceCount].definition.name)
    }

    public func wantedInput(named name: String) -> Int? {
        guard let position = shared.firstIndex(where: { $0.definition.name == name }), wantedInputs.contains(sourceCount + position) else { return nil }
        return sourceCount + position
    }

    public var transformNames: [String] { shared.map(\.definition.name) }

    public func transformName(ofInput index: Int) -> String? {
        index >= sourceCount && index - sourceCount < shared.count ? shared[index - sourceCount].definition.name : nil
    }

    private func index(of input: TransformDefinition.Input) -> Int {
        switch input {
        case .source(let source): source
        case .transform(let transform): sourceCount + transform
        }
    }

    /// What each transform's steps removed on purpose, by transform and "step:kind reason"
    /// (the exit summary); transforms that removed nothing are left out.
    public var removedEvents: [String: [String: Int]] {
        var removed: [String: [String: Int]] = [:]
        for transform in shared {
            for (index, drop) in transform.drops.enumerated() {
                guard let drop, drop.counter.current > 0 else { continue }
                removed[transform.definition.name, default: [:]]["\(index + 1):\(transform.definition.steps[index].kind) \(drop.reason)"] = drop.counter.current
            }
        }
        return removed
    }

    public func metricSamples() -> [MetricSample] {
        shared.flatMap { $0.metricSamples() }
    }

    /// Transforms ordered so that each comes after the transforms it reads.
    public static func topologicalOrder(_ definitions: [TransformDefinition]) -> [Int] {
        var order: [Int] = []
        var placed = Set<Int>()
        while order.count < definitions.count {
            let ready = definitions.indices.filter { index in
                !placed.contains(index) && definitions[index].inputs.allSatisfy { input in
                    if case .transform(let other) = input { return placed.contains(other) }
                    return true
                }
            }
            guard !ready.isEmpty else { break }  // a cycle: the configuration refuses it
            order += ready
            placed.formUnion(ready)
        }
        return order
    }
}
