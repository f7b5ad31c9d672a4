/// The 16-bit type of a frame, naming the message its body holds.
///
/// A struct, not an enum, because a newer peer may send types this build has never heard of;
/// those are decoded as ``PeerInboundMessage/unknown(type:flags:)`` and skipped.
public struct PeerMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    // Session: 0x00xx.
    /// Versions and capabilities; first message of each side.
    public static let hello = Self(rawValue: 0x0001)
    /// The last message of a session.
    public static let goodbye = Self(rawValue: 0x0002)
    /// Keepalive request.
    public static let ping = Self(rawValue: 0x0003)
    /// Keepalive answer.
    public static let pong = Self(rawValue: 0x0004)
    /// The port the sender listens on.
    public static let listeningPort = Self(rawValue: 0x0005)

    // Profile and presence: 0x01xx.
    /// The sender's whole profile.
    public static let profile = Self(rawValue: 0x0100)
    /// Asks for the profile again.
    public static let profileRequest = Self(rawValue: 0x0101)
    /// Presence alone changed.
    public static let presenceUpdate = Self(rawValue: 0x0102)
    /// The sender follows, or stops following, the receiver's presence.
    public static let subscription = Self(rawValue: 0x0103)

    // Objects: 0x02xx.
    /// Asks for a published object.
    public static let objectRequest = Self(rawValue: 0x0200)
    /// Answers an object request.
    public static let objectResponse = Self(rawValue: 0x0201)
    /// A published object changed or was deleted.
    public static let objectChanged = Self(rawValue: 0x0202)

    // Invitations: 0x03xx.
    /// An invitation into an application.
    public static let invitation = Self(rawValue: 0x0300)
    /// The invitee's final answer.
    public static let invitationResponse = Self(rawValue: 0x0301)
    /// The inviter withdraws an invitation.
    public static let invitationCancel = Self(rawValue: 0x0302)

    // Application channels: 0x04xx (capability `channels`).
    /// Opens this side's end of a named channel.
    public static let channelOpen = Self(rawValue: 0x0400)
    /// Bytes of a channel.
    public static let channelData = Self(rawValue: 0x0401)
    /// More receive window for a channel.
    public static let channelWindow = Self(rawValue: 0x0402)
    /// The sender's application finished writing (half-close).
    public static let channelEOF = Self(rawValue: 0x0403)
    /// Ends a channel.
    public static let channelClose = Self(rawValue: 0x0404)

    public var description: String {
        switch self {
        case .hello: "hello"
        case .goodbye: "goodbye"
        case .ping: "ping"
        case .pong: "pong"
        case .listeningPort: "listeningPort"
        case .profile: "profile"
        case .profileRequest: "profileRequest"
        case .presenceUpdate: "presenceUpdate"
        case .subscription: "subscription"
        case .objectRequest: "objectRequest"
        case .objectResponse: "objectResponse"
        case .objectChanged: "objectChanged"
        case .invitation: "invitation"
        case .invitationResponse: "invitationResponse"
        case .invitationCancel: "invitationCancel"
        case .channelOpen: "channelOpen"
        case .channelData: "channelData"
        case .channelWindow: "channelWindow"
        case .channelEOF: "channelEOF"
        case .channelClose: "channelClose"
        default: "type 0x" + String(rawValue, radix: 16)
        }
    }
}
