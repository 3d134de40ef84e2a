public import NIOCore

/// The client's side of the NATS text protocol, written into a `ByteBuffer`, so that many
/// operations go to the socket in one write.
public enum NATSWire {
    /// `PUB <subject> [reply] <size>\r\n<payload>\r\n`, or with headers
    /// `HPUB <subject> [reply] <header size> <total size>\r\nNATS/1.0\r\nKey: Value\r\n\r\n<payload>\r\n`.
    public static func appendPublish(
        to buffer: inout ByteBuffer, subject: some Collection<UInt8>, reply: some Collection<UInt8>,
        headers: KeyValuePairs<String, String> = [:], payload: UnsafeRawBufferPointer
    ) {
        if headers.isEmpty {
            buffer.writeStaticString("PUB ")
        } else {
            buffer.writeStaticString("HPUB ")
        }
        buffer.writeBytes(subject)
        buffer.writeStaticString(" ")
        if !reply.isEmpty {
            buffer.writeBytes(reply)
            buffer.writeStaticString(" ")
        }
        var headerBytes = 0
        if !headers.isEmpty {
            headerBytes = 12  // "NATS/1.0\r\n" and the closing "\r\n"
            for (key, value) in headers { headerBytes += key.utf8.count + 2 + value.utf8.count + 2 }
            appendDecimal(headerBytes, to: &buffer)
            buffer.writeStaticString(" ")
        }
        appendDecimal(headerBytes + payload.count, to: &buffer)
        buffer.writeStaticString("\r\n")
        if !headers.isEmpty {
            buffer.writeStaticString("NATS/1.0\r\n")
            for (key, value) in headers {
                buffer.writeString(key)
                buffer.writeStaticString(": ")
                buffer.writeString(value)
                buffer.writeStaticString("\r\n")
            }
            buffer.writeStaticString("\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeStaticString("\r\n")
    }

    /// `SUB <subject> [queue group] <sid>\r\n`.
    public static func appendSubscribe(to buffer: inout ByteBuffer, subject: String, queue: String? = nil, sid: Int) {
        buffer.writeString("SUB \(subject) \(queue.map { $0 + " " } ?? "")\(sid)\r\n")
    }

    /// `UNSUB <sid>\r\n`.
    public static func appendUnsubscribe(to buffer: inout ByteBuffer, sid: Int) {
        buffer.writeString("UNSUB \(sid)\r\n")
    }

    static func appendDecimal(_ value: Int, to buffer: inout ByteBuffer) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { space in
            var rest = UInt(value)
            var start = space.count
            repeat {
                start -= 1
                space[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: space[start...]))
        }
    }
}
