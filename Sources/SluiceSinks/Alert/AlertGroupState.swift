#if canImport(Glibc)
import Glibc
#endif

/// One alert group's window, samples and cooldown, mutated in place on every match.
///
/// Plain numbers and pointers to memory allocated once per group, so a match writes two numbers
/// and copies one event into a buffer it already owns: no reference counting, no uniqueness or
/// exclusivity checks, and no allocation once every sample slot has held an event of this size.
/// Non-copyable: the state owns that memory and frees it when it ends, so a copy that would free
/// it twice, or use it after it is freed, does not compile.
struct AlertGroupState: ~Copyable {
    /// The arrival times and `@timestamp`s of the last `threshold` matches, as rings.
    private let arrivals: UnsafeMutableBufferPointer<UInt64>
    private let timestamps: UnsafeMutableBufferPointer<Int64>
    private var stored = 0
    private var next = 0
    /// The last `samples` matching events, as a ring of byte buffers that grow and are reused.
    private let samples: UnsafeMutableBufferPointer<SampleSlot>
    private var samplesStored = 0
    private var nextSample = 0
    var cooldownUntil: UInt64 = 0
    var suppressed = 0
    var firing = false
    var lastMatch: UInt64 = 0

    private struct SampleSlot {
        var bytes: UnsafeMutableRawPointer?
        var count = 0
        var capacity = 0
    }

    init(threshold: Int, samples: Int) {
        arrivals = .allocate(capacity: max(threshold, 1))
        arrivals.initialize(repeating: 0)
        timestamps = .allocate(capacity: max(threshold, 1))
        timestamps.initialize(repeating: 0)
        self.samples = .allocate(capacity: samples)
        self.samples.initialize(repeating: SampleSlot())
    }

    deinit {
        for slot in samples { free(slot.bytes) }
        samples.deallocate()
        arrivals.deallocate()
        timestamps.deallocate()
    }

    mutating func record(arrival: UInt64, timestamp: Int64, event: UnsafeRawBufferPointer) {
        arrivals[next] = arrival
        timestamps[next] = timestamp
        next = next + 1 == arrivals.count ? 0 : next + 1
        stored = min(stored + 1, arrivals.count)
        guard samples.count > 0 else { return }
        keepSample(event)
    }

    private mutating func keepSample(_ event: UnsafeRawBufferPointer) {
        var slot = samples[nextSample]
        if slot.capacity < event.count {
            free(slot.bytes)
            slot.capacity = max(event.count, 256)
            slot.bytes = malloc(slot.capacity)
        }
        if let base = event.baseAddress, let target = slot.bytes { memcpy(target, base, event.count) }
        slot.count = event.count
        samples[nextSample] = slot
        nextSample = nextSample + 1 == samples.count ? 0 : nextSample + 1
        samplesStored = min(samplesStored + 1, samples.count)
    }

    var count: Int { stored }
    /// The oldest kept arrival (the ring is full once the threshold is reached).
    var oldestArrival: UInt64 { arrivals[stored < arrivals.count ? 0 : next] }
    var oldestTimestamp: Int64 { timestamps[stored < timestamps.count ? 0 : next] }
    var newestTimestamp: Int64 { timestamps[(next + timestamps.count - 1) % timestamps.count] }

    /// The kept samples, oldest first.
    var sampleTexts: [String] {
        let start = samplesStored < samples.count ? 0 : nextSample
        return (0..<samplesStored).map { offset in
            let slot = samples[(start + offset) % samples.count]
            return String(decoding: UnsafeRawBufferPointer(start: slot.bytes, count: slot.count), as: UTF8.self)
        }
    }

    mutating func reset() {
        stored = 0
        next = 0
        samplesStored = 0
        nextSample = 0
    }
}
