import PeerProtocol
import PeerSecurity

/// Someone reachable now, proven by the TLS channel to hold the key of `peerName`.
public struct RemotePeer: Sendable, Equatable {
    /// The object path element: the peer name, which is `[a-z2-7]` only.
    public var id: String { peerName.description }
    public let peerName: PeerName
    public var certificate: PeerCertificate
    public var verificationCode: VerificationCode
    /// `near-me` or `internet`.
    public var scope: String
    public var addresses: [ContactEndpoint]
    /// What the peer says in its profile; a claim, shown as such.
    public var profile: PeerProfile?
    /// When we last heard from the peer (µs since the epoch).
    public var lastSeen: UInt64

    public var displayName: String { profile?.displayName ?? "" }
    public var fingerprint: Fingerprint { certificate.fingerprint }
    public var presence: PeerPresence { profile?.presence ?? PeerPresence(status: .offline) }
}
