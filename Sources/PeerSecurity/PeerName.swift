/// The name of a peer, derived from its public key, so that nobody can show
/// someone else's name without holding their private key.
///
/// Derivation: SHA-256 over the DER SubjectPublicKeyInfo of the key; the first
/// 20 bytes (160 bits, ample against collisions between people on a subnet and
/// against a second-preimage search) are written in base32 with the RFC 4648
/// alphabet in lower case (`a`–`z`, `2`–`7`), which gives 32 symbols, followed by
/// one check symbol from the same alphabet: 33 characters in all, for example
/// `bjbn5jq63hh4scc5yfu4vkkqzkcqdos53`.
///
/// Why this form: lower-case letters and digits only, no hyphen, so the name is a
/// valid DNS label (≤ 63 characters of `[a-z0-9-]`) and can be an mDNS instance
/// name as it is; the RFC 4648 alphabet leaves out `0`, `1`, `8`, `9`, which are
/// easily confused with `o`, `l`, `b`, `g`.
///
/// The check symbol: read the 32 data symbols as values `s₁…s₃₂` in GF(32)
/// (polynomial x⁵ + x² + 1) and fold `c ← α·c ⊕ sᵢ` with α = x; the check symbol is
/// `α·c`, so that folding all 33 symbols gives 0. Because α ≠ 0, 1 and α² ≠ 1, this
/// catches every single wrong symbol, every swap of two neighbours and every swap
/// of symbols one apart; other mistakes slip through with probability 1/32.
///
/// Parsing accepts upper case and ignores `-` and spaces, so that a name read out
/// or copied in groups still parses; ``description`` is always the canonical form.
public struct PeerName: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The 20 bytes of the key hash that the name carries.
    public let bytes: [UInt8]

    /// The name of the peer holding the key whose DER SubjectPublicKeyInfo is given.
    public init(publicKeyDER: [UInt8]) {
        bytes = Array(OpenSSLSupport.sha256(publicKeyDER).prefix(Self.byteCount))
    }

    /// Parses a name a person typed or pasted; throws when it is malformed or its check symbol is wrong.
    public init(parsing text: String) throws {
        var symbols: [UInt8] = []
        symbols.reserveCapacity(Self.textLength)
        for scalar in text.unicodeScalars {
            if scalar == "-" || scalar == " " { continue }
            guard symbols.count < Self.textLength else {
                throw PeerSecurityError.invalidPeerName(text, reason: "it is longer than \(Self.textLength) characters")
            }
            guard let value = Self.symbolValue(scalar) else {
                throw PeerSecurityError.invalidPeerName(text, reason: "\"\(scalar)\" is not one of the letters a–z and digits 2–7 that peer names use")
            }
            symbols.append(value)
        }
        guard symbols.count == Self.textLength else {
            throw PeerSecurityError.invalidPeerName(text, reason: "it has \(symbols.count) characters, a peer name has \(Self.textLength)")
        }
        guard Self.fold(symbols) == 0 else {
            throw PeerSecurityError.invalidPeerName(text, reason: "the check character does not match, so a character was mistyped")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for value in symbols.prefix(Self.dataSymbolCount) {
            accumulator = (accumulator << 5) | UInt32(value)
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
            }
        }
        self.bytes = bytes
    }

    public init?(_ description: String) {
        guard let name = try? PeerName(parsing: description) else { return nil }
        self = name
    }

    /// The canonical 33-character form: lower case, no separators.
    public var description: String {
        var symbols: [UInt8] = []
        symbols.reserveCapacity(Self.textLength)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            accumulator = (accumulator << 8) | UInt32(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                symbols.append(UInt8((accumulator >> UInt32(bitCount)) & 31))
            }
        }
        symbols.append(Self.multiplyByAlpha(Self.fold(symbols)))
        return String(decoding: symbols.map { Self.alphabet[Int($0)] }, as: UTF8.self)
    }

    public static func < (lhs: PeerName, rhs: PeerName) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    // 20 bytes = 160 bits = exactly 32 base32 symbols, so no padding is needed.
    static let byteCount = 20
    static let dataSymbolCount = 32
    static let textLength = 33
    static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    private static func symbolValue(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x61...0x7A: UInt8(scalar.value - 0x61)  // a-z
        case 0x41...0x5A: UInt8(scalar.value - 0x41)  // A-Z
        case 0x32...0x37: UInt8(scalar.value - 0x32 + 26)  // 2-7
        default: nil
        }
    }

    /// Multiplication by α = x in GF(2⁵) modulo x⁵ + x² + 1.
    private static func multiplyByAlpha(_ value: UInt8) -> UInt8 {
        let shifted = value << 1
        return shifted & 0x20 != 0 ? (shifted ^ 0x25) : shifted
    }

    private static func fold(_ symbols: [UInt8]) -> UInt8 {
        symbols.reduce(0) { multiplyByAlpha($0) ^ $1 }
    }
}
