import NIOCore

/// Every message of protocol version 1; each case is one frame type (``PeerMessageType``).
public enum PeerMessage: Hashable, Sendable {
    /// Versions, capabilities and software; the first message each side sends.
    case hello(PeerHello)
    /// The last message: the sender closes after it.
    case goodbye(PeerGoodbye)
    /// Keepalive; the receiver answers with a pong carrying the same nonce.
    case ping(nonce: UInt64)
    /// The answer to a ping.
    case pong(nonce: UInt64)
    /// The TCP port the sender listens on for peers (capability `listening-port`); sent
    /// before the profile.
    case listeningPort(UInt16)
    /// The sender's whole profile, replacing any earlier one.
    case profile(PeerProfile)
    /// Asks the receiver to send its profile again (Peer.Refresh on D-Bus). No body.
    case profileRequest
    /// The sender's presence changed; the rest of its profile did not.
    case presenceUpdate(PeerPresence)
    /// The sender follows (true) or stops following (false) the receiver's presence and
    /// objects; the receiver shares them only with followers it allows.
    case subscription(subscribed: Bool)
    /// Asks for a published object.
    case objectRequest(ObjectRequest)
    /// Answers an object request.
    case objectResponse(ObjectResponse)
    /// A published object changed or was deleted.
    case objectChanged(ObjectChange)
    /// Invites the receiver into an application.
    case invitation(InvitationOffer)
    /// The invitee's final answer.
    case invitationResponse(InvitationResponse)
    /// The inviter withdraws a pending invitation.
    case invitationCancel(invitationID: String)
    /// Opens the sender's end of a named channel of an accepted invitation.
    case channelOpen(ChannelOpen)
    /// Bytes of a channel, within the window the receiver lent.
    case channelData(ChannelData)
    /// The receiver of the channel's data lends `increment` more bytes of window.
    case channelWindow(channelID: UInt32, increment: UInt32)
    /// The sender's application finished writing on the channel.
    case channelEOF(channelID: UInt32)
    /// Ends a channel.
    case channelClose(ChannelClose)

    /// Whether it belongs to an application channel (handled by the link, not the domain).
    public var isChannelMessage: Bool {
        switch self {
        case .channelOpen, .channelData, .channelWindow, .channelEOF, .channelClose: true
        default: false
        }
    }

    /// The frame type this message travels as.
    public var type: PeerMessageType {
        switch self {
        case .hello: .hello
        case .goodbye: .goodbye
        case .ping: .ping
        case .pong: .pong
        case .listeningPort: .listeningPort
        case .profile: .profile
        case .profileRequest: .profileRequest
        case .presenceUpdate: .presenceUpdate
        case .subscription: .subscription
        case .objectRequest: .objectRequest
        case .objectResponse: .objectResponse
        case .objectChanged: .objectChanged
        case .invitation: .invitation
        case .invitationResponse: .invitationResponse
        case .invitationCancel: .invitationCancel
        case .channelOpen: .channelOpen
        case .channelData: .channelData
        case .channelWindow: .channelWindow
        case .channelEOF: .channelEOF
        case .channelClose: .channelClose
        }
    }
}

/// What the frame decoder hands up: a message of a known type, or the type of one it skipped.
public enum PeerInboundMessage: Hashable, Sendable {
    /// A message this build understands, fully validated.
    case message(PeerMessage)
    /// A frame of a type this build does not know, from a newer peer; its body was skipped.
    case unknown(type: PeerMessageType, flags: PeerFrame.Flags)
}
