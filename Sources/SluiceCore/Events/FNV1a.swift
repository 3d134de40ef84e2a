/// FNV-1a over bytes, 64 bits: a quick, well-spread hash for keys and fingerprints (not for
/// anything an adversary may choose to collide).
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x100_0000_01B3

    public static func hash(_ bytes: UnsafeRawBufferPointer, from seed: UInt64 = offsetBasis) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= prime
        }
        return hash
    }
}
