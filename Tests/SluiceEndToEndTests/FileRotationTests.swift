import Foundation
import Glibc
import SluiceTesting
import Testing

/// The file source against real rotation (Debian's logrotate, both modes) while a writer
/// appends numbered lines at full speed.
@Suite("file source: rotation with logrotate", .timeLimit(.minutes(10)), .watchdog, .requires("/usr/sbin/logrotate"))
struct FileRotationTests {
    let directory = TemporaryDirectory()

    private func start(rotateWait: String = "1s") throws -> ChildProcess {
        mkdir(directory.path + "/logs", 0o755)
        let config = directory.write("file.yaml", """
            data_dir: \(directory.path)/data
            sources:
              app: { type: file, include: ["\(directory.path)/logs/*.log"], rotate_wait: \(rotateWait), glob_interval: 1s }
            sinks: { out: { type: console } }
            metrics: { address: "127.0.0.1:0" }
            """)
        let sluice = try SluiceBinary.launch(["--config", config], stdin: .null)
        #expect(Eventually.wait { sluice.standardErrorLines.contains { $0.contains(#""message":"started""#) } })
        return sluice
    }

    /// Runs logrotate (forced) every `interval` until the writer is done; returns the rotations.
    private func rotate(_ mode: String, while writer: NumberedWriter, interval: UInt32 = 150_000) throws -> Int {
        let config = directory.write("logrotate.conf", """
            \(directory.path)/logs/app.log {
                rotate 1000
                \(mode)
                missingok
                nocompress
            }
            """)
        var rotations = 0
        while !writer.isDone {
            usleep(interval)
            let run = try ChildProcess(
                executable: "/usr/sbin/logrotate", arguments: ["-f", "-s", directory.path + "/logrotate.state", config], stdin: .null
            )
            let termination = run.wait()
            #expect(termination.exitStatus == 0, "logrotate: \(run.standardError)")
            rotations += 1
        }
        return rotations
    }

    private func metric(_ sluice: ChildProcess, _ name: String) -> Double? {
        guard let port = sluice.metricsPort() else { return nil }
        return HTTPGet.metric((try? HTTPGet.get(port: port, path: "/metrics").body) ?? "", name)
    }

    /// `create`: the file is renamed away and a new one created; the writer reopens. Every
    /// number arrives exactly once.
    @Test func renameRotationLosesAndDoublesNothing() throws {
        let sluice = try start()
        let total = 200_000
        let writer = NumberedWriter(path: directory.path + "/logs/app.log", total: total, reopens: true)
        writer.start()
        let rotations = try rotate("create", while: writer)
        #expect(rotations >= 3, "the writer finished before logrotate ran enough: \(rotations) rotations")
        #expect(Eventually.wait(seconds: 60) { sluice.standardOutputLines.count >= total })
        #expect(Eventually.wait(seconds: 10) { metric(sluice, #"sluice_file_rotations_total{source="app"}"#) ?? 0 >= 1 })
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let counts = occurrences(numberedLines(sluice.standardOutputLines))
        let missing = (0..<total).filter { counts[$0] == nil }
        let doubled = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(missing.count == 0, "\(missing.count) missing, first \(missing.prefix(5)) (\(rotations) rotations)")
        #expect(doubled.count == 0, "\(doubled.count) doubled, first \(doubled.prefix(5))")
    }

    /// `copytruncate`: the file is copied, then truncated; the writer keeps writing with
    /// O_APPEND. Lines written between the copy and the truncation are in neither file Sluice
    /// reads: those, and only those, may be missing, so what is missing comes in at most one run
    /// of consecutive numbers per rotation. Nothing is doubled.
    @Test func copyTruncateRotationLosesOnlyTheWindowBetweenCopyAndTruncate() throws {
        let sluice = try start()
        let total = 200_000
        let writer = NumberedWriter(path: directory.path + "/logs/app.log", total: total)
        writer.start()
        let rotations = try rotate("copytruncate", while: writer)
        #expect(rotations >= 3, "the writer finished before logrotate ran enough: \(rotations) rotations")
        // Every line is in the live file or a copy; wait until Sluice is done with them.
        #expect(Eventually.wait(seconds: 60) {
            metric(sluice, #"sluice_file_truncations_total{source="app"}"#) ?? 0 >= 1
                && metric(sluice, #"sluice_file_lag_bytes{source="app"}"#) == 0
        })
        ChildProcess.pause(milliseconds: 1_500)
        sluice.send(SIGTERM)
        #expect(sluice.wait().exitStatus == 0)
        let counts = occurrences(numberedLines(sluice.standardOutputLines))
        let missing = (0..<total).filter { counts[$0] == nil }
        let doubled = counts.filter { $0.value > 1 }.keys.sorted()
        let windows = runs(of: missing)
        print("copytruncate: \(rotations) rotations, \(missing.count) lines lost in \(windows.count) windows between copy and truncate")
        #expect(windows.count <= rotations, "missing lines are not confined to the rotations' windows: \(windows.prefix(10))")
        #expect(doubled.count == 0, "\(doubled.count) doubled, first \(doubled.prefix(5))")
        #expect(Double(missing.count) < Double(total) * 0.05, "\(missing.count) of \(total) lost")
    }
}
