import PeerSessions
import PeerProtocol

/// What the domain keeps per link for presence: whether its peer follows me, what I last
/// told it, and the rate limit on its presence traffic.
struct LinkSubscription: Sendable {
    /// The peer sent `subscription(true)` and has not taken it back.
    var peerSubscribed = false
    /// The last `subscription` I sent on this link (none sent counts as false).
    var sentSubscribed = false
    /// Whether the last profile sent on this link carried my presence and objects.
    var sharing = false
    /// Presence updates, profiles and object changes from the peer (the session layer's rule).
    var flood = FloodGate()
    /// The newest presence dropped by the rate limit, applied when the burst is over, so
    /// what is shown is the peer's latest even after a flood.
    var pendingPresence: PeerPresence?
    /// An object change was dropped: the whole profile is asked for when the burst is over.
    var needsProfile = false
}
