/// The properties of `org.peercollab.PeerCollab1.Invitation`, incoming or outgoing.
public enum InvitationProperty: String, APIProperty {
    case id = "Id"
    case direction = "Direction"
    case peer = "Peer"
    case peerName = "PeerName"
    case displayName = "DisplayName"
    case applicationID = "ApplicationId"
    case message = "Message"
    case data = "Data"
    case state = "State"
    case reason = "Reason"
    case created = "Created"
    case expires = "Expires"
    /// The invitation's application channels: name, state, bytes sent, bytes received.
    case channels = "Channels"

    public var change: PropertyChange {
        switch self {
        case .peer, .displayName, .state, .reason, .channels: .emitsValue
        default: .constant
        }
    }
}
