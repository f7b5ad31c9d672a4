import PeerProtocol

/// Where an invitation is in its life (docs/dbus-api.md's invitation state strings). Every state
/// but `pending` is final: nothing changes it again.
public enum InvitationState: String, Sendable, Hashable, CaseIterable {
    case pending
    case accepted
    case declined
    case expired
    case cancelled
    case failed

    /// Whether the invitation is over.
    public var isFinal: Bool { self != .pending }

    /// The state a wire outcome ends in.
    init(_ outcome: InvitationOutcome) {
        switch outcome {
        case .accepted: self = .accepted
        case .declined: self = .declined
        case .expired: self = .expired
        case .failed: self = .failed
        }
    }

    /// The outcome that carries this final state on the wire (cancelled travels as its own message).
    var outcome: InvitationOutcome? {
        switch self {
        case .accepted: .accepted
        case .declined: .declined
        case .expired: .expired
        case .failed: .failed
        case .pending, .cancelled: nil
        }
    }
}

/// Who sent an invitation.
public enum InvitationDirection: String, Sendable, Hashable {
    /// A peer invited me.
    case incoming
    /// I invited a peer.
    case outgoing
}
