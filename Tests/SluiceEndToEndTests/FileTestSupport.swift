import Foundation
import Glibc
import SluiceTesting

/// Appends fixed-width numbered lines to a file, as an app logging to disk does: `O_APPEND`,
/// one `write` per chunk of lines. With `reopens`, it notices a rename rotation (the path now
/// leads to another inode) and reopens the path, as an app told to reopen its log does.
final class NumberedWriter: @unchecked Sendable {
    let path: String
    let writer: Int
    let total: Int
    let linesPerWrite: Int
    let pauseMicroseconds: UInt32
    let reopens: Bool
    private let done = SharedFlag()
    private var thread: Thread?

    init(path: String, writer: Int = 0, total: Int, linesPerWrite: Int = 500, pauseMicroseconds: UInt32 = 2_000, reopens: Bool = false) {
        self.path = path
        self.writer = writer
        self.total = total
        self.linesPerWrite = linesPerWrite
        self.pauseMicroseconds = pauseMicroseconds
        self.reopens = reopens
    }

    /// `{"w":W,"n":"NNNNNNNN","pad":"..."}` and a newline: 64 bytes, so line `n` of a file
    /// written by one writer starts at byte `64 * n`.
    static let lineLength = 64

    static func line(writer: Int, number: Int) -> String {
        let n = String(number)
        let head = #"{"w":\#(writer),"n":""# + String(repeating: "0", count: 8 - n.count) + n + #"","pad":""#
        return head + String(repeating: "x", count: lineLength - head.count - 3) + "\"}\n"
    }

    func start() {
        let thread = Thread { [self] in run() }
        self.thread = thread
        thread.start()
    }

    var isDone: Bool { done.isSet }

    private func run() {
        var descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        var number = 0
        while number < total {
            if reopens {
                var atPath = stat(), open = stat()
                if stat(path, &atPath) != 0 || (fstat(descriptor, &open) == 0 && atPath.st_ino != open.st_ino) {
                    close(descriptor)
                    descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
                }
            }
            let count = min(linesPerWrite, total - number)
            let chunk = (number..<(number + count)).map { Self.line(writer: writer, number: $0) }.joined()
            _ = Array(chunk.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            number += count
            if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
        }
        close(descriptor)
        done.set()
    }
}

/// The writer and number of every numbered line in console output.
func numberedLines(_ lines: [String]) -> [(writer: Int, number: Int)] {
    lines.compactMap { line in
        guard let w = line.range(of: #""w":"#), let n = line.range(of: #""n":""#) else { return nil }
        let writer = Int(line[w.upperBound...].prefix { $0.isNumber })
        let number = Int(line[n.upperBound...].prefix { $0.isNumber })
        guard let writer, let number else { return nil }
        return (writer, number)
    }
}

/// How many times each number of one writer appears.
func occurrences(_ lines: [(writer: Int, number: Int)], writer: Int = 0) -> [Int: Int] {
    var counts: [Int: Int] = [:]
    for line in lines where line.writer == writer { counts[line.number, default: 0] += 1 }
    return counts
}

/// The runs of consecutive numbers in `numbers` (sorted): each a lower bound and a count.
func runs(of numbers: [Int]) -> [(first: Int, count: Int)] {
    var result: [(first: Int, count: Int)] = []
    for number in numbers.sorted() {
        if let last = result.last, last.first + last.count == number {
            result[result.count - 1].count += 1
        } else {
            result.append((number, 1))
        }
    }
    return result
}
