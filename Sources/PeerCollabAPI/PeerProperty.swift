/// The properties of `org.peercollab.PeerCollab1.Peer`, someone reachable now.
public enum PeerProperty: String, APIProperty {
    case peerName = "PeerName"
    case displayName = "DisplayName"
    case fingerprint = "Fingerprint"
    case verificationCode = "VerificationCode"
    case scope = "Scope"
    case addresses = "Addresses"
    case presenceStatus = "PresenceStatus"
    case presenceMessage = "PresenceMessage"
    case contact = "Contact"
    case applications = "Applications"
    case objects = "Objects"
    case lastSeen = "LastSeen"

    public var change: PropertyChange {
        switch self {
        case .peerName, .fingerprint, .verificationCode: .constant
        default: .emitsValue
        }
    }
}
