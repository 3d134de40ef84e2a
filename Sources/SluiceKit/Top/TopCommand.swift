import ArgumentParser
import Glibc
import SluiceComponentConfig
import SluiceConfig
import SluiceCore
import SluiceSync
import SluiceText

/// `sluice top`: what flows where, right now, in a running Sluice: per source, transform and
/// sink, events and bytes per second, drops by reason, each sink's state and last error, disk
/// buffers, the ring and the process. Full screen on a terminal (refreshed every `--interval`,
/// `q` quits); one line per component otherwise, or once with `--once`.
struct TopCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show a running Sluice's components, refreshed every second (q quits)."
    )

    @OptionGroup var connection: AdminConnectionOptions

    @Option(help: "Time between refreshes (rates are over it).")
    var interval: String = "1s"

    @Flag(help: "Print one line per component once, and exit.")
    var once = false

    func run(with registry: ComponentRegistry) throws {
        let client = try connection.client(registry: registry)
        guard let intervalNanoseconds = Units.parseDuration(interval), intervalNanoseconds >= 100_000_000 else {
            throw ValidationError("--interval must be a duration of 100ms or more, such as 1s")
        }
        var standardError = StandardError()
        do {
            var previous = try scrape(client)
            if once || !Terminal.isInteractive {
                while true {
                    var pause = timespec(tv_sec: Int(intervalNanoseconds / 1_000_000_000), tv_nsec: Int(intervalNanoseconds % 1_000_000_000))
                    var left = timespec()
                    while nanosleep(&pause, &left) != 0, errno == EINTR { pause = left }
                    let current = try scrape(client)
                    let report = TopReport(address: client.address, before: previous, after: current, health: health(client))
                    // Unbuffered, so a pipe reader sees each refresh as it comes.
                    try OutputDescriptor.writeAll(report.componentLines().joined(separator: "\n") + "\n", to: STDOUT_FILENO, name: "stdout")
                    if once { return }
                    previous = current
                }
            }
            let terminal = Terminal()
            terminal.enter()
            defer { terminal.restore() }
            var deadline = MonotonicClock.nowNanoseconds() + intervalNanoseconds
            terminal.draw(["sluice top  \(client.address)  reading…"])
            while true {
                let now = MonotonicClock.nowNanoseconds()
                if now < deadline {
                    if terminal.waitForQuit(milliseconds: Int32(min(1_000, (deadline - now) / 1_000_000 + 1))) { return }
                    continue
                }
                deadline = now + intervalNanoseconds
                let current = try scrape(client)
                let report = TopReport(address: client.address, before: previous, after: current, health: health(client))
                terminal.draw(report.screen(width: terminal.size.columns, clock: Self.clock()))
                previous = current
            }
        } catch let failure as AdminClient.Failure {
            print(failure.description, to: &standardError)
            throw ExitCode(1)
        }
    }

    private func scrape(_ client: AdminClient) throws -> MetricsSnapshot {
        let answer = try client.get("/metrics")
        guard answer.status == 200 else { throw AdminClient.Failure(description: "\(client.address)/metrics answered \(answer.status)") }
        return MetricsSnapshot(text: answer.body, takenAtNanoseconds: MonotonicClock.nowNanoseconds())
    }

    /// Each sink's state and last error from `/api/health`; empty when it does not answer
    /// (an older Sluice, or a token needed), and `top` falls back on `sluice_sink_healthy`.
    private func health(_ client: AdminClient) -> [String: (state: String, lastError: String?)] {
        guard let answer = try? client.get("/api/health"), answer.status == 200 || answer.status == 503,
              let object = JSONAny.object(answer.body.utf8),
              let sinks = object["sinks"] as? [[String: Any]] else { return [:] }
        var states: [String: (state: String, lastError: String?)] = [:]
        for sink in sinks {
            guard let name = sink["name"] as? String, let state = sink["state"] as? String else { continue }
            states[name] = (state, sink["last_error"] as? String)
        }
        return states
    }

    static func clock() -> String {
        String(EventTimestamp.format(EventTimestamp.nowMilliseconds()).dropFirst(11).prefix(8))
    }
}
