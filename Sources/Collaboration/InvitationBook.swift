import PeerSessions
/// The invitation state the ``Collaboration`` actor keeps: the invitations by id and what
/// serves them (timers, waiting callers, per-peer rate limits). Nothing here outlives the daemon:
/// an invitation is a conversation between two running daemons.
struct InvitationBook {
    var invitations: [String: Invitation] = [:]
    /// Incoming invitations by the inviter's peer id and wire id, so a repeated offer is not
    /// shown twice.
    var incoming: [IncomingKey: String] = [:]
    /// When each invitation expires if still pending, on the domain's clock. Each one's
    /// single deadline (`.invitation`: expiry while pending, then its withdrawal) is in the
    /// domain's timetable.
    var expiresAt: [String: ContinuousClock.Instant] = [:]
    /// When each final invitation ended, so that a changed retention counts from then.
    var finishedAt: [String: ContinuousClock.Instant] = [:]
    /// Callers of Wait (and of Accept and Decline, waiting for the verdict), by invitation.
    var waiters: [String: [Int: InvitationWaiter]] = [:]
    var nextWaiter = 0
    /// Per-peer limit on new incoming invitations; forgotten when the peer leaves.
    var rates: [String: TokenBucket] = [:]
    /// Starts an accepted invitation's application; returns nil, or why it could not.
    var launcher: (@Sendable (InvitationLaunch) async -> String?)?

    struct IncomingKey: Hashable {
        var peerID: String
        var wireID: String
    }

    var pendingOutgoingCount: Int { invitations.values.count { $0.direction == .outgoing && $0.state == .pending } }

    func pendingIncomingCount(from peerID: String) -> Int {
        invitations.values.count { $0.direction == .incoming && $0.peerID == peerID && $0.state == .pending }
    }
}

/// Someone waiting for an invitation's final state.
struct InvitationWaiter {
    /// The D-Bus caller's unique name, so its waits end when it leaves the bus.
    let caller: String?
    /// Resumed with the final state, or nil when the wait ended without one.
    let continuation: CheckedContinuation<InvitationState?, Never>
}

/// What the daemon needs to start the application of an accepted invitation.
public struct InvitationLaunch: Sendable, Equatable {
    public let invitationID: String
    public let applicationID: String
    /// The registered command line, or empty.
    public let exec: [String]
    /// The registered desktop entry id, or "".
    public let desktopID: String
}
