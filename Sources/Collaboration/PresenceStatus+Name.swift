import PeerProtocol

extension PresenceStatus {
    /// The lowercase names of docs/dbus-api.md, in the wire enumeration's order.
    public var name: String {
        switch self {
        case .offline: "offline"
        case .outToLunch: "out-to-lunch"
        case .away: "away"
        case .beRightBack: "be-right-back"
        case .idle: "idle"
        case .busy: "busy"
        case .onThePhone: "on-the-phone"
        case .online: "online"
        }
    }

    public init?(name: String) {
        guard let match = PresenceStatus.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
