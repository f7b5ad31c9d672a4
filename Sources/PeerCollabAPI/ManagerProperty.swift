/// The properties of `org.peercollab.PeerCollab1.Manager`, the local user.
public enum ManagerProperty: String, APIProperty {
    case version = "Version"
    case peerName = "PeerName"
    case fingerprint = "Fingerprint"
    case displayName = "DisplayName"
    case email = "Email"
    case signedIn = "SignedIn"
    case presenceStatus = "PresenceStatus"
    case presenceMessage = "PresenceMessage"
    case invitationPolicy = "InvitationPolicy"
    case endpoints = "Endpoints"
    case objects = "Objects"
    case signInAutomatically = "SignInAutomatically"

    public var change: PropertyChange {
        switch self {
        case .version, .peerName, .fingerprint: .constant
        default: .emitsValue
        }
    }
}
