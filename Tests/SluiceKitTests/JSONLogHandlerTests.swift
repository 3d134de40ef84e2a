import SluiceSync
import Glibc
import Logging
import SluiceTesting
import Testing

@testable import SluiceKit

/// What one log call writes, read back from a pipe.
private func logged(_ message: Logger.Message, metadata: Logger.Metadata) -> String {
    var descriptors: [Int32] = [-1, -1]
    #expect(pipe(&descriptors) == 0)
    let handler = JSONLogHandler(label: "test", level: .info, descriptor: descriptors[1])
    handler.log(event: LogEvent(level: .info, message: message, metadata: metadata, source: "t", file: #file, function: #function, line: #line))
    close(descriptors[1])
    var bytes = [UInt8](repeating: 0, count: 65_536)
    let count = read(descriptors[0], &bytes, bytes.count)
    close(descriptors[0])
    return String(decoding: bytes[0..<max(0, count)], as: UTF8.self)
}

@Suite(.timeLimit(.minutes(10)), .watchdog, .serialized) struct JSONLogHandlerTests {
    /// A secret made of digits (a PIN, a numeric token) is a secret like any other, though the
    /// log writes integers as JSON numbers.
    @Test func aSecretThatLooksLikeANumberIsRedacted() {
        JSONLogHandler.redact(["40817265"])
        let line = logged("connecting", metadata: ["token": "40817265", "port": "9200", "nested": .array(["40817265"])])
        #expect(!line.contains("40817265"), "the secret leaked: \(line)")
        #expect(line.contains(#""token":"<redacted>""#))
        #expect(line.contains(#""port":9200"#), "other integers stay numbers")
    }

    /// Every reload hands the configuration's secrets over again: the list holds each once.
    @Test func secretsAreKeptOnceHoweverOftenTheyAreGiven() {
        for _ in 0..<100 { JSONLogHandler.redact(["s3cr3t-token", "another-one"]) }
        let secrets = JSONLogHandler.secrets.withLock { $0 }
        #expect(secrets.filter { $0 == "s3cr3t-token" }.count == 1)
        #expect(logged("using s3cr3t-token", metadata: [:]).contains("using <redacted>"))
    }
}
