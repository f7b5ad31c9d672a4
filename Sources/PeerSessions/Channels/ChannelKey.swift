import PeerProtocol

/// A channel's name on a link: the invitation (its wire id and who sent it, from this side)
/// and the name both applications open. Two opens with the same key make one channel.
public struct ChannelKey: Hashable, Sendable, CustomStringConvertible {
    /// The invitation's id on the wire (the inviter's choice).
    public var invitationWireID: String
    /// Whether this side sent the invitation.
    public var localIsInviter: Bool
    /// The channel's name.
    public var name: String

    public init(invitationWireID: String, localIsInviter: Bool, name: String) {
        self.invitationWireID = invitationWireID
        self.localIsInviter = localIsInviter
        self.name = name
    }

    /// The invitation half of the key, for the per-invitation limit.
    var invitation: InvitationKey { InvitationKey(wireID: invitationWireID, localIsInviter: localIsInviter) }

    public var description: String { "\"\(name)\" of invitation \(invitationWireID)" }

    struct InvitationKey: Hashable {
        var wireID: String
        var localIsInviter: Bool
    }
}

/// This side's id of a channel: what its messages carry, never reused on a link.
public typealias ChannelID = UInt32
