public import SluiceCore
import Logging
import SluiceSync
import Synchronization

/// `type: program`: runs a command and writes events to its stdin as NDJSON, batch by batch
/// (rsyslog's omprog, Fluent Bit's out_exec).
///
/// - A program that reads slowly, or not at all, fills its pipe and holds this sink back like
///   any slow output; under `block` that holds the sources back too.
/// - A program that exits or crashes is logged (status, uptime, its last stderr lines) and
///   started again, after a pause that doubles while it keeps exiting within 10 s. Events it was
///   given but never read (still in the pipe when it died) are written again to the next run
///   under `block`, and counted as dropped (`sink_error`) under the drop policies. An event the
///   program had read only partly is written again whole.
/// - Its stderr goes into Sluice's log, a line at a time, tagged with the sink.
/// - At the end its stdin is closed; it has `shutdown.grace_period` to exit before SIGTERM.
///
/// An event counts as delivered once the program has read it from the pipe.
public final class ProgramSink: AcknowledgingSink {
    private let name: String
    private let settings: ProgramSettings
    private let report: DeliveryReport
    private var process: ProgramProcess?
    /// Events a previous run was given but did not read, to be written to the next run first.
    private var unreadByLastRun: [UInt8] = []
    /// The tickets of every event taken and not yet settled, oldest first: in the order events
    /// go into the pipe, so the program reads them from the front; what was never written is at
    /// the back.
    private var outstanding = TicketShares()
    private var nextRestartDelay: UInt64 = 0
    private let restarts = Atomic<Int>(0)
    private let logger: Logger

    public init(name: String, settings: ProgramSettings, report: DeliveryReport) {
        self.name = name
        self.report = report
        self.settings = settings
        var logger = Logger(label: "sluice.program")
        logger[metadataKey: "sink"] = .string(name)
        self.logger = logger
    }

    /// Deliveries are confirmed, and an exit noticed, at least this often while idle.
    public var flushIntervalNanoseconds: UInt64? { 1_000_000_000 }

    public func write(_ batch: EventBatch, ticket: DeliveryTicket, endOfRun: Bool) throws {
        outstanding.add(ticket, events: batch.count)
        deliver(batch.bytes)
        confirmDeliveries()
    }

    /// Also notices a program that exited while no events came, and (under `block`) starts it
    /// again at once with what it had not read.
    public func flush() throws {
        if let process, process.exitIfEnded() != nil {
            restartLater(after: process)
        }
        if !unreadByLastRun.isEmpty {
            deliver(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        confirmDeliveries()
    }

    /// Closes the program's stdin and lets it finish. A program that exits before reading
    /// everything, having read something, is started again for the rest under `block`; one
    /// that reads nothing more, or had to be terminated, loses the rest (counted).
    public func finish() throws {
        deliver(UnsafeRawBufferPointer(start: nil, count: 0))
        while let process {
            self.process = nil
            let ending = process.stop(grace: report.gracePeriodNanoseconds)
            settleRead(ending.read)
            var metadata: Logger.Metadata = ["exit": "\(ending.exit)", "unread_events": "\(ending.unreadCount)"]
            if ending.exit.status != 0 { metadata["stderr"] = .array(process.lastErrorLines.map { .string($0) }) }
            guard ending.unreadCount > 0 else {
                logger.info("program stopped", metadata: metadata)
                return
            }
            guard report.whenFull == .block, ending.readAny, !ending.forced else {
                outstanding.takeFirst(ending.unreadCount).dropped(.shutdown, to: report)
                logger.error("program stopped without reading every event; the rest were dropped", metadata: metadata)
                return
            }
            logger.warning("program ended before reading every event; starting it again for the rest", metadata: metadata)
            restarts.add(1, ordering: .relaxed)
            unreadByLastRun = ending.unread
            deliver(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// Writes `bytes` (whole events) to the program, after anything an earlier run left unread,
    /// starting the program again each time it ends.
    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        var remaining = bytes
        while !remaining.isEmpty || !unreadByLastRun.isEmpty {
            guard let process = running() else {
                // No program: nothing is in a pipe, so what is outstanding is this.
                let lost = Self.eventCount(remaining) + unreadByLastRun.count { $0 == 0x0A }
                outstanding.takeLast(lost).dropped(report.shutdown.isStopping ? .shutdown : .sinkError, to: report)
                unreadByLastRun = []
                return
            }
            if !unreadByLastRun.isEmpty {
                let again = unreadByLastRun
                unreadByLastRun = []
                let (outcome, resume) = again.withUnsafeBytes { send($0, to: process) }
                switch outcome {
                case .sent:
                    break
                case .broken:
                    unreadByLastRun = Array(again[resume...])
                    restartLater(after: process)
                    continue
                case .stopped:
                    outstanding.takeLast(again[resume...].count { $0 == 0x0A } + Self.eventCount(remaining)).dropped(.shutdown, to: report)
                    return
                }
            }
            guard !remaining.isEmpty else { return }
            let (outcome, resume) = send(remaining, to: process)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[resume...])
            switch outcome {
            case .sent:
                break
            case .broken:
                restartLater(after: process)
            case .stopped:
                outstanding.takeLast(Self.eventCount(remaining)).dropped(.shutdown, to: report)
                return
            }
        }
    }

    public func metricSamples() -> [MetricSample] {
        [MetricSample("sluice_program_restarts_total", .counter, help: "Times a program sink's command was started again after it exited.", labels: [("sink", name)], value: Double(restarts.load(ordering: .relaxed)))]
    }

    /// Writes whole events to the program; when it did not get through them all, the offset of
    /// the first event it did not write completely.
    private func send(_ bytes: UnsafeRawBufferPointer, to process: ProgramProcess) -> (ProgramProcess.SendOutcome, resume: Int) {
        let result = process.send(bytes, stop: report.shutdown)
        guard result.outcome != .sent else { return (.sent, bytes.count) }
        let written = UnsafeRawBufferPointer(rebasing: bytes[0..<result.sentBytes])
        return (result.outcome, written.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)
    }

    /// The program now, started (again) when needed; nil when it cannot be started and this
    /// sink may not wait (a drop policy), or when shutdown stops the waiting.
    private func running() -> ProgramProcess? {
        if let process { return process }
        while true {
            if nextRestartDelay > 0 {
                guard report.shutdown.sleep(nanoseconds: nextRestartDelay) else { return nil }
            }
            do {
                let started = try ProgramProcess(command: settings.command, sinkName: name)
                logger.info("program started", metadata: ["pid": "\(started.pid)", "command": .array(settings.command.arguments.map { .string($0) })])
                process = started
                return started
            } catch {
                logger.error("cannot start the program", metadata: ["error": "\(error)"])
                report.setProblem("cannot start \(settings.command.arguments.first ?? ""): \(error)")
                nextRestartDelay = min(max(nextRestartDelay * 2, settings.restartBackoffNanoseconds), settings.maxRestartBackoffNanoseconds)
                if report.whenFull != .block || report.shutdown.isStopping { return nil }
            }
        }
    }

    /// The program exited or stopped reading: keeps (under `block`) or drops what it had not
    /// read, logs why, and sets the pause before the next start.
    private func restartLater(after ended: ProgramProcess) {
        let ending = ended.end()
        settleRead(ending.read)
        process = nil
        restarts.add(1, ordering: .relaxed)
        if report.whenFull == .block {
            unreadByLastRun = ending.unread + unreadByLastRun
        } else if ending.unreadCount > 0 {
            outstanding.takeFirst(ending.unreadCount).dropped(.sinkError, to: report)
        }
        let uptime = MonotonicClock.nowNanoseconds() - ended.startedAt
        nextRestartDelay = uptime >= 10_000_000_000
            ? 0 : min(max(nextRestartDelay * 2, settings.restartBackoffNanoseconds), settings.maxRestartBackoffNanoseconds)
        report.setProblem("program \(ending.exit); restarting")
        logger.warning("program ended; restarting it", metadata: [
            "exit": "\(ending.exit)", "pid": "\(ended.pid)", "uptime_ms": "\(uptime / 1_000_000)",
            "unread_events": "\(ending.unreadCount)", "restart_in_ms": "\(nextRestartDelay / 1_000_000)",
            "stderr": .array(ended.lastErrorLines.map { .string($0) }),
        ])
    }

    private func confirmDeliveries() {
        guard let process else { return }
        let read = process.confirmRead()
        guard read.events > 0 else { return }
        settleRead(read)
        report.setProblem(nil)
    }

    /// The program read these (the oldest outstanding events).
    private func settleRead(_ read: (events: Int, bytes: Int)) {
        outstanding.takeFirst(read.events).delivered(bytes: read.bytes, to: report)
    }

    private static func eventCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count { $0 == 0x0A }
    }
}
