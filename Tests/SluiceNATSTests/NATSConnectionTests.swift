import NIOCore
import SluiceTesting
import Synchronization
import Testing

@testable import SluiceNATS

/// The client against a real `nats-server`: handshake, publish and subscribe with headers,
/// requests, the JetStream calls Sluice makes, and the errors a user would meet.
@Suite(.timeLimit(.minutes(10)), .watchdog)
struct NATSConnectionTests {
    static let root = String(#filePath.split(separator: "/Tests/").first ?? "")
    let directory = TemporaryDirectory()

    private func connect(_ server: NATSServerProcess, _ configure: (inout NATSConnection.Options) -> Void = { _ in }) throws -> NATSConnection {
        var options = NATSConnection.Options()
        configure(&options)
        return try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port), options: options)
    }

    @Test(.requiresNATSServer(repository: root))
    func messagesWithHeadersGoRoundTheServer() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let connection = try connect(server)
        defer { connection.close() }
        #expect(connection.info.headers && connection.info.jetStream)
        let received = Mutex<[NATSMessage]>([])
        _ = connection.subscribe("logs.>") { message in received.withLock { $0.append(message) } }
        var buffer = connection.allocator.buffer(capacity: 256)
        for index in 0..<100 {
            let payload = Array("{\"n\":\(index)}\n".utf8)
            payload.withUnsafeBytes {
                NATSWire.appendPublish(to: &buffer, subject: "logs.app\(index % 3)".utf8, reply: EmptyCollection(), headers: ["Nats-Msg-Id": "id-\(index)"], payload: $0)
            }
        }
        connection.write(buffer)
        try connection.flush(timeoutNanoseconds: 5_000_000_000)
        try connection.flush(timeoutNanoseconds: 5_000_000_000)
        let messages = received.withLock { $0 }
        #expect(messages.count == 100)
        #expect(messages.enumerated().allSatisfy { index, message in
            message.subject == "logs.app\(index % 3)" && message.header("Nats-Msg-Id") == "id-\(index)" && String(buffer: message.payload) == "{\"n\":\(index)}\n"
        })
    }

    @Test(.requiresNATSServer(repository: root))
    func aWrongTokenIsNamedAndARightOneConnects() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path, extra: "authorization { token: s3cret }")
        let error = #expect(throws: NATSError.self) { try connect(server) { $0.token = "wrong" } }
        #expect(error?.description.contains("Authorization Violation") == true, "\(String(describing: error))")
        let connection = try connect(server) { $0.token = "s3cret" }
        connection.close()
    }

    @Test(.requiresNATSServer(repository: root))
    func aServerThatIsNotThereIsNamed() throws {
        let port = try SocketClient.freePort()
        let error = #expect(throws: NATSError.self) {
            try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: port), options: .init())
        }
        #expect(error?.description.contains("nats://127.0.0.1:\(port)") == true)
    }

    @Test(.requiresNATSServer(repository: root))
    func jetStreamStoresOncePerMessageIDAndAPullConsumerDelivers() throws {
        let server = try NATSServerProcess(repository: Self.root, directory: directory.path)
        let connection = try connect(server)
        defer { connection.close() }
        let jetStream = JetStream(connection)
        #expect(try jetStream.streamInfo("LOGS") == nil)
        try jetStream.addStream(["name": "LOGS", "subjects": ["logs.>"], "storage": "file", "duplicate_window": 60_000_000_000])
        #expect(try jetStream.streamInfo("LOGS") != nil)
                var acks: [PublishAcknowledgement] = []
        for _ in 0..<2 {
            let reply = try connection.request("logs.app", payload: Array("{\"n\":1}\n".utf8), timeoutNanoseconds: 5_000_000_000)
            acks.append(PublishAcknowledgement.read(reply))
        }
        #expect(acks[0] == .stored(sequence: 1, duplicate: false))
        #expect(acks[1] == .stored(sequence: 2, duplicate: false), "without a message id, stored twice")
        // The same message id twice: stored once, the second acknowledged as a duplicate.
        let inbox = NATSConnection.newInbox()
        let got = Mutex<[PublishAcknowledgement]>([])
        _ = connection.subscribe(inbox + "*") { message in got.withLock { $0.append(PublishAcknowledgement.read(message)) } }
        var buffer = connection.allocator.buffer(capacity: 256)
        for attempt in 0..<2 {
            Array("{\"n\":2}\n".utf8).withUnsafeBytes {
                NATSWire.appendPublish(to: &buffer, subject: "logs.app".utf8, reply: (inbox + "\(attempt)").utf8, headers: ["Nats-Msg-Id": "abc-7"], payload: $0)
            }
        }
        connection.write(buffer)
        try connection.flush(timeoutNanoseconds: 5_000_000_000)
        let deadline = ChildProcess.nowSeconds() + 5
        while got.withLock({ $0.count }) < 2 && ChildProcess.nowSeconds() < deadline { ChildProcess.pause(milliseconds: 10) }
        #expect(got.withLock { $0 } == [.stored(sequence: 3, duplicate: false), .stored(sequence: 3, duplicate: true)])
        // Nobody captures other.subject.
        let noStream = #expect(throws: NATSError.self) { try connection.request("other.subject", payload: [], timeoutNanoseconds: 5_000_000_000) }
        #expect(noStream?.description.contains("no responders on other.subject") == true)

        _ = try jetStream.ensurePullConsumer(stream: "LOGS", name: "central", filter: "logs.>", ackWaitNanoseconds: 30_000_000_000, maxAckPending: 100)
        _ = try jetStream.ensurePullConsumer(stream: "LOGS", name: "central", filter: "logs.>", ackWaitNanoseconds: 30_000_000_000, maxAckPending: 100)
        let pulled = Mutex<[NATSMessage]>([])
        let pullInbox = NATSConnection.newInbox() + "pull"
        _ = connection.subscribe(pullInbox) { message in pulled.withLock { $0.append(message) } }
        let fetch = JetStream.fetchRequest(stream: "LOGS", consumer: "central", batch: 10, expiresNanoseconds: 500_000_000)
        var request = connection.allocator.buffer(capacity: 128)
        fetch.body.withUnsafeBytes { NATSWire.appendPublish(to: &request, subject: fetch.subject.utf8, reply: pullInbox.utf8, payload: $0) }
        connection.write(request)
        let until = ChildProcess.nowSeconds() + 5
        while pulled.withLock({ $0.last?.status == nil }) && ChildProcess.nowSeconds() < until { ChildProcess.pause(milliseconds: 10) }
        let messages = pulled.withLock { $0 }
        let data = messages.filter { $0.status == nil }
        #expect(data.count == 3)
        #expect(data.compactMap { $0.replyTo.flatMap(DeliveredMessageInfo.init(replySubject:))?.streamSequence } == [1, 2, 3])
        #expect(messages.last?.status == 408, "the request ends with 408 when it expires with fewer messages than asked")
    }
}

/// NKeys and credentials files: what the server checks, against a real server.
@Suite(.timeLimit(.minutes(10)), .watchdog)
struct NKeyTests {
    let directory = TemporaryDirectory()

    @Test func aSeedGivesItsKeyAndSignsVerifiably() throws {
        let (seed, key) = NKey.newUser()
        #expect(seed.hasPrefix("SU") && key.publicKey.hasPrefix("U") && key.publicKey.count == 56)
        let again = try NKey.fromSeed(seed).get()
        #expect(again.publicKey == key.publicKey)
        let signature = try again.sign(nonce: "nonce-from-the-server")
        #expect(key.verifies(signature, nonce: "nonce-from-the-server") && !key.verifies(signature, nonce: "another"))
        #expect(!signature.contains("=") && !signature.contains("+") && !signature.contains("/"))
        // One character changed: the checksum says so.
        var damaged = Array(seed)
        damaged[10] = damaged[10] == "A" ? "B" : "A"
        #expect((try? NKey.fromSeed(String(damaged)).get()) == nil)
        #expect((try? NKey.fromSeed(key.publicKey).get()) == nil, "a public key is not a seed")
    }

    @Test func aCredentialsFileGivesItsJWTAndSeed() throws {
        let (seed, key) = NKey.newUser()
        let text = """
            -----BEGIN NATS USER JWT-----
            eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************
            NKEY Seed printed below can be used to sign and prove identity.

            -----BEGIN USER NKEY SEED-----
            \(seed)
            ------END USER NKEY SEED------
            """
        let credentials = try NATSCredentials.read(text).get()
        #expect(credentials.jwt == "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln")
        #expect(credentials.key.publicKey == key.publicKey)
        #expect((try? NATSCredentials.read("no blocks here").get()) == nil)
    }

    @Test(.requiresNATSServer(repository: NATSConnectionTests.root))
    func theServerAdmitsTheNKeyItKnowsAndNoOther() throws {
        let (_, user) = NKey.newUser()
        let server = try NATSServerProcess(
            repository: NATSConnectionTests.root, directory: directory.path, extra: "authorization { users: [ { nkey: \(user.publicKey) } ] }"
        )
        var options = NATSConnection.Options()
        options.nkey = user
        let connection = try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port), options: options)
        connection.close()
        options.nkey = NKey.newUser().key
        let error = #expect(throws: NATSError.self) {
            try NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port), options: options)
        }
        #expect(error?.description.contains("Authorization Violation") == true, "\(String(describing: error))")
    }
}
