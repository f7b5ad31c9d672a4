import NIOCore

/// Inbound user events that ``PeerSessionHandler`` fires for the application.
public enum PeerSessionEvent: Hashable, Sendable {
    /// Both hellos arrived and agree; the application may now send and will now receive messages.
    case established(PeerSessionParameters)
    /// A ping or pong arrived: the peer is there, though it had nothing else to say. Comes at
    /// most about once per keepalive interval on a quiet session.
    case keepaliveReceived
    /// A keepalive went unanswered for a whole interval: the peer may be gone. The session
    /// stays up until the idle timeout (or a probe's deadline) passes.
    case peerStale
    /// The peer was stale and has been heard from again.
    case peerResponsive
}

/// Outbound user events the application sends to ``PeerSessionHandler``
/// (`channel.triggerUserOutboundEvent`).
public enum PeerSessionCommand: Hashable, Sendable {
    /// Ping the peer now and close the session unless something arrives within `within`
    /// (after resume or a network change, when a peer may have gone without a goodbye).
    case probe(within: TimeAmount)
}
