import PeerProtocol

/// One authenticated, established session with a peer, as the domain sees it: a way to send
/// and to hang up. The network layer implements it; Collaboration decides what goes over it.
public protocol PeerLink: Sendable {
    /// Unique for the daemon's lifetime.
    var id: Int { get }
    /// Whether we dialled (true) or they did.
    var isOutgoing: Bool { get }
    /// The peer's address as seen on the socket.
    var remoteEndpoint: ContactEndpoint? { get }
    /// Whether that address is on one of my own networks (the same link).
    var isOnLocalNetwork: Bool { get }
    /// The capabilities both hellos listed: a feature is used on this link only when here.
    var capabilities: Set<PeerCapability> { get }
    func send(_ message: PeerMessage)
    /// Says goodbye and closes.
    func close(_ goodbye: PeerGoodbye)
    /// Pings now; the session closes unless the peer answers within `within`.
    func probe(within: Duration)
}
