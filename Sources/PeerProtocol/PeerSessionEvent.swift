/// Inbound user events that ``PeerSessionHandler`` fires for the application.
public enum PeerSessionEvent: Hashable, Sendable {
    /// Both hellos arrived and agree; the application may now send and will now receive messages.
    case established(PeerSessionParameters)
}
