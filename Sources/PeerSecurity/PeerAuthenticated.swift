/// The user inbound event a ``ChannelSecurityHandler`` fires once the
/// handshake has completed and the peer passed every check; plaintext flows
/// only after it.
public struct PeerAuthenticated: Sendable, Hashable {
    /// The peer's name, derived from the key it proved to hold.
    public let peerName: PeerName
    /// The peer's certificate as DER.
    public var certificateDER: [UInt8] { certificate.derEncoded }
    /// The peer's certificate, parsed.
    public let certificate: PeerCertificate
    /// The code both users see for this pair of keys.
    public let verificationCode: VerificationCode

    /// The event for a peer with this certificate, seen from the holder of `localPublicKeyDER`.
    public init(certificate: PeerCertificate, localPublicKeyDER: [UInt8]) {
        self.peerName = certificate.peerName
        self.certificate = certificate
        self.verificationCode = VerificationCode(local: localPublicKeyDER, remote: certificate.publicKeyDER)
    }
}
