/// The one thing application channels ask the domain: where an invitation's channels go.
/// Channels themselves are a session concern (the daemon's link handlers carry them).
extension Collaboration {
    /// What a channel of an invitation needs to know about it.
    public struct ChannelTarget: Sendable, Hashable {
        public var invitationID: String
        /// The id on the wire (the inviter's), which both sides' channel opens name.
        public var wireID: String
        public var localIsInviter: Bool
        public var peerID: String
        /// The link to the peer now, nil when not connected.
        public var linkID: Int?
        public var state: InvitationState
        /// The peer's display name as last heard, for error messages.
        public var peerDisplayName: String
    }

    /// The invitation `id`'s peer and link, and whether it is accepted; nil when there is no
    /// such invitation.
    public func channelTarget(_ id: String) -> ChannelTarget? {
        guard let invitation = invitationBook.invitations[id] else { return nil }
        return ChannelTarget(
            invitationID: id, wireID: invitation.wireID, localIsInviter: invitation.direction == .outgoing,
            peerID: invitation.peerID, linkID: linkRegistry.linkID(ofPeer: invitation.peerID), state: invitation.state,
            peerDisplayName: invitation.peerDisplayName.isEmpty ? invitation.peerID : invitation.peerDisplayName)
    }

    /// This side's invitation that a peer's channel names: its wire id and whether I sent it.
    public func invitationID(peerID: String, wireID: String, localIsInviter: Bool) -> String? {
        if localIsInviter {
            guard let invitation = invitationBook.invitations[wireID], invitation.direction == .outgoing, invitation.peerID == peerID else {
                return nil
            }
            return invitation.id
        }
        return invitationBook.incoming[InvitationBook.IncomingKey(peerID: peerID, wireID: wireID)]
    }
}
