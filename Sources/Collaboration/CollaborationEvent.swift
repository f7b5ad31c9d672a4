/// What changed in the domain; the D-Bus layer turns each into signals.
public enum CollaborationEvent: Sendable, Equatable {
    /// Properties of the Manager (the local user) changed.
    case managerChanged(Set<ManagerProperty>)
    /// I signed in to or out of the near-me scope: the discovery layer starts or stops
    /// announcing and browsing.
    case nearMeChanged(signedIn: Bool)
    /// A peer proved its key and can be shown (its id is the object path element).
    case peerAdded(String)
    case peerChanged(String, Set<PeerProperty>)
    /// The peer left: goodbye, lost channel, or sign-out.
    case peerRemoved(String)
}

/// The Manager's properties that can change while the daemon runs.
public enum ManagerProperty: String, Sendable, Hashable, CaseIterable {
    case displayName = "DisplayName"
    case email = "Email"
    case endpoints = "Endpoints"
    case signedIn = "SignedIn"
}
