/// The properties of `org.peercollab.PeerCollab1.Contact`, an entry of the contact list.
public enum ContactProperty: String, APIProperty {
    case peerName = "PeerName"
    case displayName = "DisplayName"
    case nickname = "Nickname"
    case email = "Email"
    case fingerprint = "Fingerprint"
    case verificationCode = "VerificationCode"
    case verified = "Verified"
    case subscribeAllowed = "SubscribeAllowed"
    case subscribed = "Subscribed"
    case online = "Online"
    case presenceStatus = "PresenceStatus"
    case presenceMessage = "PresenceMessage"
    case peer = "Peer"
    case endpoints = "Endpoints"
    case applications = "Applications"
    case objects = "Objects"
    case lastSeen = "LastSeen"

    public var change: PropertyChange {
        switch self {
        case .peerName, .verificationCode: .constant
        default: .emitsValue
        }
    }
}
