public import SluiceCore
import SluiceSync

/// Runs one transform's steps over batches, on one thread at a time (a `TransformStage` lends
/// runners to the threads that publish): it owns the editor, the expression matchers and their
/// scratch space; what is shared lives in `TransformShared`.
public final class TransformRunner {
    let shared: TransformShared
    private let editor = EventEditor()
    @exclusivity(unchecked) private var held = ByteWriter(capacity: 4096)
    /// Per step: the matcher of its expression and key fields, when it has any.
    private let matchers: [EventMatcher?]
    private let keySlots: [[Int]]
    private let edits: Bool
    /// The steps as run: each on its own, or consecutive `remove`/`rename`/`set` fused.
    private let program: [Operation]

    /// An operation holds what it needs as plain values or references made once, so running
    /// one per event copies no step settings.
    private enum Operation {
        case shape(FieldShaper)
        case redact(Redactor)
        case parseJSON(field: [UInt8])
        /// A step that keeps or drops the event (`where`, `sample`, `throttle`, `dedupe`).
        case decide(step: Int, Decision)
    }

    private enum Decision {
        case filter
        case sample(rate: UInt64, filtered: Bool, keyed: Bool)
        case throttle
        case dedupe
    }

    public init(_ shared: TransformShared) {
        self.shared = shared
        var matchers: [EventMatcher?] = []
        var keySlots: [[Int]] = []
        for step in shared.definition.steps {
            let (expressions, keys): ([Expression], [FieldPath]) = switch step {
            case .filter(let expression): ([expression], [])
            case .sample(let settings): (settings.filter.map { [$0] } ?? [], settings.key.map { [$0] } ?? [])
            case .throttle(let settings): ([], settings.key.map { [$0] } ?? [])
            case .dedupe(let settings): ([], settings.fields)
            default: ([], [])
            }
            let matcher = expressions.isEmpty && keys.isEmpty ? nil : EventMatcher(expressions, extraFields: keys)
            matchers.append(matcher)
            keySlots.append(keys.compactMap { matcher?.slot(of: $0) })
        }
        self.matchers = matchers
        self.keySlots = keySlots
        var program: [Operation] = []
        var fused: [FieldEdit] = []
        for (index, step) in shared.definition.steps.enumerated() {
            if let edit = step.fieldEdit {
                fused.append(edit)
                continue
            }
            if !fused.isEmpty { program.append(.shape(FieldShaper(fused))) }
            fused = []
            switch step {
            case .redact(let settings): program.append(.redact(Redactor(settings)))
            case .parseJSON(let field): program.append(.parseJSON(field: Array(field.utf8)))
            case .filter: program.append(.decide(step: index, .filter))
            case .sample(let settings):
                program.append(.decide(step: index, .sample(rate: UInt64(settings.rate), filtered: settings.filter != nil, keyed: settings.key != nil)))
            case .throttle: program.append(.decide(step: index, .throttle))
            case .dedupe: program.append(.decide(step: index, .dedupe))
            case .remove, .rename, .set: break
            }
        }
        if !fused.isEmpty { program.append(.shape(FieldShaper(fused))) }
        self.program = program
        edits = shared.definition.steps.contains { step in
            switch step {
            case .redact, .remove, .rename, .set, .parseJSON: true
            default: false
            }
        }
    }

    /// The transform's output for `batch`, numbered `outputIndex` for the sinks that take it;
    /// nil when every event was dropped. With `mayReuse` (nobody else sees `batch`) a batch the
    /// steps leave whole is passed on as it is instead of copied.
    func apply(_ batch: EventBatch, outputIndex: Int, mayReuse: Bool) -> EventBatch? {
        shared.eventsIn.add(batch.count)
        var kept: [Int] = []
        kept.reserveCapacity(batch.count)
        // A new batch is written only from the first event a step changed (the events kept
        // before it are copied then): a batch no step changes is passed on or cut, not copied.
        var builder = EventBatchBuilder(byteCapacity: 0)
        var building = false
        let now = MonotonicClock.nowNanoseconds()
        // Events the encoder wrote already reshaped by this transform's leading field steps.
        // (A batch encoded just before a reload and run by the new transforms was reshaped by
        // the old steps: the new ones run over it in full, as over any event they see first.)
        let preShaped = batch.preShapedBy === shared
        for position in 0..<batch.count {
            let record = batch[position]
            let outcome = process(record, now: now, fromOperation: preShaped && batch.isPreShaped(position) ? 1 : 0)
            guard case .kept(let current) = outcome else { continue }
            if !building, edits, current.baseAddress != record.json.baseAddress {
                building = true
                builder = EventBatchBuilder(byteCapacity: batch.bytes.count + batch.bytes.count / 8 + 64)
                for earlier in kept { append(batch[earlier], as: batch[earlier].json, to: &builder) }
            }
            kept.append(position)
            if building { append(record, as: current, to: &builder) }
        }
        shared.eventsOut.add(kept.count)
        guard !kept.isEmpty else { return nil }
        if building {
            let origin = kept.count == batch.count ? batch.origin : batch.origin.keeping(kept)
            return EventBatch(sourceIndex: outputIndex, builder: builder, origin: origin, sourceName: batch.sourceName)
        }
        if kept.count == batch.count, mayReuse {
            return batch.relabeled(as: outputIndex)
        }
        return batch.keeping(kept, as: outputIndex)
    }

    private func append(_ record: EventRecord, as json: UnsafeRawBufferPointer, to builder: inout EventBatchBuilder) {
        builder.ndjson.append(json)
        builder.ndjson.append(0x0A)
        builder.endEvent(level: record.level, timestampMilliseconds: record.timestampMilliseconds)
    }

    /// What the steps make of one event.
    public enum Outcome {
        /// The event as it goes on (valid until the next call).
        case kept(UnsafeRawBufferPointer)
        /// Step `step` (0-based) removed it; counted under its reason.
        case dropped(step: Int)
    }

    /// Runs the steps on one event at monotonic time `now` (from the program's operation
    /// `fromOperation`: 1 skips the leading field steps for an event written already reshaped).
    public func process(_ record: EventRecord, now: UInt64, fromOperation first: Int = 0) -> Outcome {
        var current = record.json
        for operation in program[first...] {
            let changed: Bool
            switch operation {
            case .shape(let shaper):
                editor.output.removeAll()
                changed = shaper.shape(current, into: &editor.output)
            case .redact(let redactor):
                changed = editor.redact(current, using: redactor)
            case .parseJSON(let field):
                changed = editor.parseJSON(field: field, in: current)
            case .decide(let index, let decision):
                if let matcher = matchers[index] {
                    matcher.load(EventRecord(json: current, timestampMilliseconds: record.timestampMilliseconds, level: record.level))
                }
                guard passes(decision, index: index, now: now) else {
                    shared.drops[index]?.counter.add(1)
                    return .dropped(step: index)
                }
                changed = false
            }
            if changed {
                swap(&editor.output, &held)
                current = held.bytes
            }
        }
        return .kept(current)
    }

    /// Whether the loaded event goes on past deciding step `index`.
    private func passes(_ decision: Decision, index: Int, now: UInt64) -> Bool {
        switch decision {
        case .filter:
            return matchers[index]!.matches(0)
        case .sample(let rate, let filtered, let keyed):
            if filtered, !matchers[index]!.matches(0) { return true }
            if keyed {
                guard let slot = keySlots[index].first, let value = matchers[index]!.rawValue(ofSlot: slot) else { return true }
                return Self.hash(value) % rate == 0
            }
            return shared.samples[index]!.passes(rate: rate)
        case .throttle:
            return admitThrottled(key(index), step: index, now: now)
        case .dedupe:
            return !isDuplicate(key(index), step: index, now: now)
        }
    }

    /// A throttle's decision, under its step's lock (its buckets are every thread's).
    private func admitThrottled(_ key: UInt64, step index: Int, now: UInt64) -> Bool {
        var overflowed = false
        let admitted = shared.throttles[index]!.withLock { $0.admit(key, now: now, overflowed: &overflowed) }
        if overflowed { shared.overflowKeys[index].add(1) }
        return admitted
    }

    /// A dedupe's decision, under its step's lock (its window is every thread's).
    private func isDuplicate(_ key: UInt64, step index: Int, now: UInt64) -> Bool {
        shared.dedupes[index]!.withLock { $0.isDuplicate(key, now: now) }
    }

    /// A hash of the loaded event's key fields (a missing field hashes as absent).
    private func key(_ index: Int) -> UInt64 {
        var hash = FNV1a.offsetBasis
        for slot in keySlots[index] {
            hash = (hash ^ (matchers[index]!.rawValue(ofSlot: slot).map(Self.hash) ?? 0x9E37_79B9)) &* FNV1a.prime
        }
        return hash
    }

    /// FNV-1a, then mixed (splitmix64's finaliser) so `% rate` sees well spread bits.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash = FNV1a.hash(bytes)
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }
}
