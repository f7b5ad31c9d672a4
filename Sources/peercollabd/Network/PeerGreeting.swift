import PeerCollabAPI
import PeerProtocol

/// What this daemon greets every peer with.
enum PeerGreeting {
    /// Every feature this daemon speaks; the domain uses one with a peer only when that
    /// peer's hello lists it too (``Collaboration/PeerLink/capabilities``).
    static let hello = PeerHello(
        versions: PeerProtocolLimits.supportedVersions, capabilities: [.presence, .objects, .invitations, .listeningPort, .channels],
        softwareVersion: "peercollab/" + ProductVersion.current)
}
