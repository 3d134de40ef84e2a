import Crypto
import FoundationEssentials
import SluiceText

/// An NKey (NATS's Ed25519 identities): a seed read from its text form (`SU...`), the public key
/// it gives (`U...`), and signatures of the nonce a server sends in its `INFO`.
///
/// The text forms are base32 (RFC 4648, no padding) of a prefix, the key, and a CRC-16/XMODEM of
/// both (little-endian). A seed's first two bytes carry the seed prefix (`S`, 18 << 3) and the
/// kind of the public key (`U` for a user, 20 << 3) across their bit boundary.
public struct NKey: Sendable {
    public let publicKey: String
    private let signingKey: Curve25519.Signing.PrivateKey

    static let seedPrefix: UInt8 = 18 << 3
    static let userPrefix: UInt8 = 20 << 3

    /// Reads a seed (`SU...`); nil, with the reason, when it is not one.
    public static func fromSeed(_ text: String) -> Result<NKey, NATSError> {
        guard let raw = Base32.decode(String(text.trimmed())), raw.count == 36 else {
            return .failure(NATSError("the NKey seed is not base32 of 36 bytes"))
        }
        guard CRC16.xmodem(raw[0..<34]) == UInt16(raw[34]) | UInt16(raw[35]) << 8 else {
            return .failure(NATSError("the NKey seed's checksum does not match"))
        }
        guard raw[0] & 0xF8 == seedPrefix else { return .failure(NATSError("the NKey is not a seed (it should start with S)")) }
        let kind = (raw[0] & 0x07) << 5 | (raw[1] & 0xF8) >> 3
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw[2..<34]) else {
            return .failure(NATSError("the NKey seed is not an Ed25519 seed"))
        }
        return .success(NKey(publicKey: encode(prefix: kind, key.publicKey.rawRepresentation), signingKey: key))
    }

    /// A new user seed and its key (tests).
    public static func newUser() -> (seed: String, key: NKey) {
        let key = Curve25519.Signing.PrivateKey()
        let seed = key.rawRepresentation
        var raw = [seedPrefix | userPrefix >> 5, (userPrefix & 0x1F) << 3]
        raw += seed
        let crc = CRC16.xmodem(raw[...])
        raw += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return (Base32.encode(raw), NKey(publicKey: encode(prefix: userPrefix, key.publicKey.rawRepresentation), signingKey: key))
    }

    private init(publicKey: String, signingKey: Curve25519.Signing.PrivateKey) {
        self.publicKey = publicKey
        self.signingKey = signingKey
    }

    private static func encode(prefix: UInt8, _ key: Data) -> String {
        var raw = [prefix] + Array(key)
        let crc = CRC16.xmodem(raw[...])
        raw += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return Base32.encode(raw)
    }

    /// The signature of `nonce`, base64url without padding, as `CONNECT`'s `sig` wants it.
    public func sign(nonce: String) throws -> String {
        let signature = try signingKey.signature(for: Data(nonce.utf8))
        return Data(signature).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    /// Whether `signature` (as `sign` writes it) is this key's signature of `nonce`.
    public func verifies(_ signature: String, nonce: String) -> Bool {
        var base64 = signature.replacing("-", with: "+").replacing("_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let bytes = Data(base64Encoded: base64) else { return false }
        return signingKey.publicKey.isValidSignature(bytes, for: Data(nonce.utf8))
    }
}

/// A user credentials file (`nsc` writes them): the user's JWT and its NKey seed, each between
/// `-----BEGIN ...-----` and `------END ...------` lines.
public struct NATSCredentials: Sendable {
    public let jwt: String
    public let key: NKey

    public static func read(_ text: String) -> Result<NATSCredentials, NATSError> {
        func block(_ name: String) -> String? {
            let lines = text.split(whereSeparator: \.isNewline).map { String($0.trimmed()) }
            guard let start = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN") && $0.contains(name) }) else { return nil }
            return lines[(start + 1)...].first { !$0.isEmpty && !$0.hasPrefix("---") }
        }
        guard let jwt = block("JWT") else { return .failure(NATSError("the credentials file has no user JWT block")) }
        guard let seed = block("SEED") else { return .failure(NATSError("the credentials file has no NKey seed block")) }
        return NKey.fromSeed(seed).map { NATSCredentials(jwt: jwt, key: $0) }
    }
}

enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in text.utf8 {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5 | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return output
    }
}

enum CRC16 {
    /// CRC-16/XMODEM (polynomial 0x1021, initial 0), as NKeys check their text forms.
    static func xmodem(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}
