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
