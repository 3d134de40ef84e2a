import ArgumentParser
import Glibc
import SluiceComponentConfig
import SluiceCore
import Synchronization

/// `sluice tap`: a sample of the events passing components of a running Sluice, as NDJSON on
/// stdout while it runs (`/api/tap`): one `{"component":…,"point":…,"event":{…}}` per event.
/// What the server dropped (this client reading too slowly) and sampled out (`--rate`) is
/// printed on stderr as it happens and in a summary when it ends (Ctrl-C, or Sluice stopping).
struct TapCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Stream a sample of the events passing sources, transforms or sinks of a running Sluice."
    )

    @OptionGroup var connection: AdminConnectionOptions

    @Option(help: ArgumentHelp("Components to tap, comma-separated: a source's or transform's output, a sink's input (default: every source and transform).", valueName: "NAMES"))
    var inputs: String?

    @Option(name: .customLong("where"), help: ArgumentHelp("Only events matching this filter (the `where` language).", valueName: "EXPR"))
    var filter: String?

    @Option(help: ArgumentHelp("At most this many events per second.", valueName: "N/s"))
    var rate: String = "100/s"

    /// Set by SIGINT and SIGTERM: the stream ends cleanly at the next check.
    static let stopping = Atomic<Bool>(false)

    func run(with registry: ComponentRegistry) throws {
        let client = try connection.client(registry: registry)
        var parameters = ["rate=" + Self.escape(rate)]
        if let inputs { parameters.append("inputs=" + Self.escape(inputs)) }
        if let filter { parameters.append("where=" + Self.escape(filter)) }
        signal(SIGINT) { _ in TapCommand.stopping.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in TapCommand.stopping.store(true, ordering: .relaxed) }
        signal(SIGPIPE, SIG_IGN)
        var events = 0
        var dropped = 0
        var sampledOut = 0
        var standardError = StandardError()
        do {
            _ = try client.stream("/api/tap?" + parameters.joined(separator: "&"), stop: { Self.stopping.load(ordering: .relaxed) }) { line in
                if line.hasPrefix(#"{"tap":"#) {
                    let counts = Self.counts(line)
                    dropped += counts.dropped
                    sampledOut += counts.sampledOut
                    if counts.dropped > 0 { print("sluice tap: \(counts.dropped) events dropped (this client read too slowly)", to: &standardError) }
                    return true
                }
                events += 1
                do {
                    try OutputDescriptor.writeAll(line + "\n", to: STDOUT_FILENO, name: "stdout")
                } catch {
                    return false  // stdout closed (`| head`): done
                }
                return true
            }
        } catch {
            print("\(error)", to: &standardError)
            throw ExitCode(1)
        }
        let ending = Self.stopping.load(ordering: .relaxed) ? "" : " (the stream ended: Sluice stopped)"
        print("sluice tap: \(events) events, \(dropped) dropped, \(sampledOut) sampled out by --rate\(ending)", to: &standardError)
    }

    /// The numbers of a `{"tap":{"dropped":N,"sampled_out":M}}` line.
    static func counts(_ line: Substring) -> (dropped: Int, sampledOut: Int) {
        func number(after key: String) -> Int {
            guard let range = line.firstRange(of: "\"\(key)\":") else { return 0 }
            return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        return (number(after: "dropped"), number(after: "sampled_out"))
    }

    /// `text` percent-encoded for a query parameter: ASCII letters, digits and `-_.~,/` as they
    /// are, every other UTF-8 byte as `%XX`.
    static func escape(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var escaped: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: ","), UInt8(ascii: "/"):
                escaped.append(byte)
            default:
                escaped += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }
}
