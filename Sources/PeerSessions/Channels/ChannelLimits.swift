import PeerProtocol

/// The limits one link's channels keep (docs/protocol.md, "Application channels"); the
/// defaults are the protocol's, smaller ones make tests quick.
public struct ChannelLimits: Hashable, Sendable {
    public var channelsPerLink = PeerProtocolLimits.channelsPerLinkMaximum
    public var channelsPerInvitation = PeerProtocolLimits.channelsPerInvitationMaximum
    public var unansweredOpens = PeerProtocolLimits.channelUnansweredOpensMaximum
    public var bufferedBytesPerLink = PeerProtocolLimits.channelBufferedBytesPerLinkMaximum
    public var initialWindow = PeerProtocolLimits.channelInitialWindowBytes
    public var maximumWindow = PeerProtocolLimits.channelWindowMaximumBytes
    /// The largest chunk accepted (and the unit of window growth).
    public var chunk = PeerProtocolLimits.channelChunkMaximumBytes
    /// The chunk this side cuts when it sends.
    public var sendChunk = PeerProtocolLimits.channelChunkFillingOneRecordBytes

    public init() {}
}

/// Why a local open was refused; the daemon turns each into a typed D-Bus error.
public enum ChannelOpenRefusal: Error, Hashable, Sendable {
    case nameInUse
    case tooManyOnLink(limit: Int)
    case tooManyOnInvitation(limit: Int)
    case tooManyUnanswered(limit: Int)
}

/// How a channel ended, as the owner reports it to the application.
public enum ChannelEnd: String, Hashable, Sendable {
    /// Both applications finished writing and everything was delivered.
    case closed
    /// An application or the peer broke the stream off.
    case reset
    /// The link to the peer closed.
    case peerGone = "peer-gone"
    /// The invitation was withdrawn (on either side).
    case invitationGone = "invitation-gone"
    /// A daemon is stopping.
    case stopping
    /// The peer broke the protocol; the link closes.
    case protocolError = "protocol-error"

    init(_ reason: ChannelCloseReason) {
        switch reason {
        case .closed: self = .closed
        case .reset: self = .reset
        case .invitationGone: self = .invitationGone
        case .stopping: self = .stopping
        }
    }

    var wireReason: ChannelCloseReason {
        switch self {
        case .closed: .closed
        case .invitationGone: .invitationGone
        case .stopping: .stopping
        case .reset, .peerGone, .protocolError: .reset
        }
    }
}
