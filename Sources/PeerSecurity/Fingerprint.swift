/// The SHA-256 fingerprint of a certificate's DER encoding, shown as
/// `AB:CD:…` (32 upper-case hex pairs joined by colons) as other tools show it.
///
/// Unlike the ``PeerName`` it changes when a certificate is renewed; it names a
/// certificate, the peer name names a key.
public struct Fingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bytes of the digest.
    public let bytes: [UInt8]

    /// The fingerprint of the certificate with this DER encoding.
    public init(certificateDER: [UInt8]) {
        bytes = OpenSSLSupport.sha256(certificateDER)
    }

    /// Parses ``hex``'s form: exactly 64 lower-case hex digits; nil for anything else.
    init?<Text: StringProtocol>(hex text: Text) {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
        // UInt8(_:radix:) also takes a sign and upper case: only the canonical form parses.
        guard hex == String(text) else { return nil }
    }

    /// The 64 lower-case hex digits, without separators (the identity cache keeps this).
    var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// `AB:CD:…`, the form `openssl x509 -fingerprint -sha256` prints after its `=`.
    public var description: String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ":")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
