/// A six-digit code two people compare, by voice or side by side, to confirm
/// that each of them talks to the other's key and not to someone in between.
///
/// Both sides derive the same code: the two DER SubjectPublicKeyInfos are put in
/// a fixed order (bytewise ascending), each prefixed with its length, after the
/// domain-separation text "peercollab verification v1" and a zero byte, and
/// hashed with SHA-256; the first 8 bytes, read as a big-endian integer, modulo
/// 1,000,000 give the code (the bias of a 64-bit value modulo 10⁶ is below 10⁻¹³).
/// An attacker in the middle would have to find a key of their own whose code
/// matches both ends, a one-in-a-million guess per attempt that the users see.
public struct VerificationCode: Sendable, Hashable, CustomStringConvertible {
    /// The code as a number below 1,000,000.
    public let value: UInt32

    /// The code for a conversation between the holders of these two keys (DER SubjectPublicKeyInfo); the order of the arguments does not matter.
    public init(local: [UInt8], remote: [UInt8]) {
        let (first, second) = local.lexicographicallyPrecedes(remote) ? (local, remote) : (remote, local)
        var input = Array(Self.domain.utf8)
        input.append(0)
        for key in [first, second] {
            let count = UInt32(key.count)
            input += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
            input += key
        }
        let digest = OpenSSLSupport.sha256(input)
        let prefix = digest.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        value = UInt32(prefix % 1_000_000)
    }

    /// "123 456": two groups of three digits, easier to read aloud.
    public var description: String {
        let digits = String(value)
        let padded = String(repeating: "0", count: 6 - digits.count) + digits
        return "\(padded.prefix(3)) \(padded.suffix(3))"
    }

    static let domain = "peercollab verification v1"
}
