import Logging
import SluiceCore

/// The last log line: what was read, delivered, dropped and left on disk, whether the books
/// balance, and what the exit status makes of it.
extension Supervisor {
    /// Where the books do not balance at the end, one line each (none when every event is
    /// accounted for):
    /// - every source: events read = events that went into the ring + events the stop left
    ///   unpublished (`dropped` at the source, `shutdown`);
    /// - every sink: events it took on + what its disk buffer held when opened = delivered +
    ///   dropped after taking them (every reason but `ring_overrun`) + what waits on disk now.
    ///   A sink a reload replaced is left out: a record it gave back whole after delivering part
    ///   of it is delivered twice by design (`already_present` at an indexer).
    static func unbalancedBooks(_ pipeline: Pipeline, diskBuffers: DiskBuffers) -> [String] {
        var problems: [String] = []
        for source in pipeline.sourceCounters {
            let read = source.events.current, published = source.published.current, unpublished = source.unpublished.current
            if read != published + unpublished {
                problems.append("source \(source.name): \(read) events read, \(published) went to the sinks and \(unpublished) were stopped before they could: \(read - published - unpublished) unaccounted for")
            }
        }
        let waiting = diskBuffers.waiting
        for sink in pipeline.allSinkCounters where !sink.wasReplaced {
            let before = diskBuffers.waitingWhenOpened[sink.name] ?? 0
            let taken = sink.accepted.current, delivered = sink.events.current, dropped = sink.droppedAfterTaking
            let after = waiting[sink.name] ?? 0
            if before + taken != delivered + dropped + after {
                problems.append("sink \(sink.name): \(taken) events taken on and \(before) from its disk buffer, but \(delivered) delivered, \(dropped) dropped and \(after) waiting on disk: \(before + taken - delivered - dropped - after) unaccounted for")
            }
        }
        return problems
    }

    /// Whether any sink dropped an event, for the exit status: every reason counts but
    /// `already_present` (the destination holds the event, perhaps from Sluice's own earlier
    /// write). What waits in a disk buffer is not dropped.
    static func droppedAny(_ pipeline: Pipeline) -> Bool {
        pipeline.sourceCounters.contains { $0.unpublished.current > 0 } || pipeline.allSinkCounters.contains { counters in
            DropReason.allCases.contains { $0 != .alreadyPresent && counters.dropped($0).current > 0 }
        }
    }

    func logSummary(_ pipeline: Pipeline, unbalanced: [String]) {
        var metadata: Logger.Metadata = [:]
        metadata["events_in"] = .dictionary(Dictionary(uniqueKeysWithValues: pipeline.sourceCounters.map {
            ($0.name, .string("\($0.events.current)"))
        }))
        // Every sink that ran, removed ones included.
        let sinks = pipeline.allSinkCounters
        metadata["events_out"] = .dictionary(Dictionary(uniqueKeysWithValues: sinks.map { ($0.name, .string("\($0.events.current)")) }))
        var dropped: Logger.Metadata = [:]
        for counters in sinks {
            var reasons: Logger.Metadata = [:]
            for reason in DropReason.allCases where counters.dropped(reason).current > 0 {
                reasons[reason.rawValue] = .string("\(counters.dropped(reason).current)")
            }
            if !reasons.isEmpty { dropped[counters.name] = .dictionary(reasons) }
        }
        if !dropped.isEmpty { metadata["dropped"] = .dictionary(dropped) }
        var trouble: Logger.Metadata = [:]
        for counters in pipeline.sourceCounters {
            let counts = [
                ("invalid_utf8_lines", counters.invalidUTF8Lines.current),
                ("cut_line_parts", counters.cutLineParts.current),
                ("unparsed_lines", counters.unparsedLines.current),
                ("lost_file_bytes", counters.lostInputBytes.current),
            ].filter { $0.1 > 0 }
            if !counts.isEmpty {
                trouble[counters.name] = .dictionary(Dictionary(uniqueKeysWithValues: counts.map { ($0.0, .string("\($0.1)")) }))
            }
        }
        if !trouble.isEmpty { metadata["input_problems"] = .dictionary(trouble) }
        // Removed by a transform's where, sample, throttle or dedupe: by design, not a loss.
        let removed = pipeline.eventsRemovedByTransforms
        if !removed.isEmpty {
            metadata["removed_by_transforms"] = .dictionary(removed.mapValues { steps in .dictionary(steps.mapValues { .string("\($0)") }) })
        }
        let waiting = diskBuffers.waiting
        if !waiting.isEmpty { metadata["waiting_on_disk"] = .dictionary(waiting.mapValues { .string("\($0)") }) }
        if let peak = ProcessMemory.peakResidentKilobytes { metadata["peak_rss_kib"] = "\(peak)" }
        var droppedAtSources: Logger.Metadata = [:]
        for counters in pipeline.sourceCounters where counters.unpublished.current > 0 {
            droppedAtSources[counters.name] = .dictionary(["shutdown": .string("\(counters.unpublished.current)")])
        }
        if !droppedAtSources.isEmpty { metadata["dropped_at_sources"] = .dictionary(droppedAtSources) }
        let failures = pipeline.failures
        if !failures.isEmpty { metadata["source_failures"] = .dictionary(failures.mapValues { .string($0) }) }
        if !unbalanced.isEmpty { metadata["unaccounted"] = .array(unbalanced.map { .string($0) }) }
        JSONLogHandler.writeLastLines {
            if !unbalanced.isEmpty {
                logger.error("stopped; some events are not accounted for (a bug in Sluice: please report it with this line)", metadata: metadata)
            } else if !failures.isEmpty {
                logger.error("stopped; a source failed (\(failures.keys.sorted().joined(separator: ", "))), so not every event was read", metadata: metadata)
            } else if !dropped.isEmpty || !droppedAtSources.isEmpty {
                logger.warning("stopped; some events were not delivered", metadata: metadata)
            } else if Self.lostInput(pipeline) {
                logger.warning("stopped; every event read was delivered, but some input was lost before it could be read", metadata: metadata)
            } else if !waiting.isEmpty {
                logger.info("stopped; undelivered events wait on disk for the next start", metadata: metadata)
            } else {
                logger.info("stopped; every event delivered", metadata: metadata)
            }
        }
    }
}
