import SluiceCore

/// Deterministic document ids: a 128-bit hash of the event's bytes, as 22 URL-safe base64
/// characters. The same event gets the same id whether it is sent live, retried or replayed from
/// an archive, so `create` with that id can never index it twice.
enum EventID {
    /// Two independent 64-bit lanes of multiply-xorshift mixing over 8-byte words.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var first: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var second: UInt64 = 0xC2B2_AE3D_27D4_EB4F &+ UInt64(bytes.count)
        var index = 0
        let base = bytes.baseAddress
        while index + 8 <= bytes.count {
            let word = base!.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            first = mix(first ^ word)
            second = mix(second &+ (word &* 0x9FB2_1C65_1E98_DF25))
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        first = mix(first ^ tail ^ 0xFF51_AFD7_ED55_8CCD)
        second = mix(second &+ tail &+ 0xC4CE_B9FE_1A85_EC53)
        return (mix(first ^ second), mix(second &+ first))
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 32
        x = x &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        x = x &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        return x
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Appends the id for `hash` (from `hash(_:)`; 22 characters) to `output`.
    static func append(_ hash: (UInt64, UInt64), to output: inout ByteWriter) {
        append(word: hash.0, to: &output)
        append(word: hash.1, to: &output)
    }

    /// Eleven characters, six bits each, lowest first.
    private static func append(word: UInt64, to output: inout ByteWriter) {
        var value = word
        for _ in 0..<11 {
            output.append(alphabet[Int(value & 63)])
            value >>= 6
        }
    }
}
