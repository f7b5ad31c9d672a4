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
    /// A contact was added to the list (its id is its peer name).
    case contactAdded(String)
    case contactChanged(String, Set<ContactProperty>)
    case contactRemoved(String)
    /// An application was registered (its id is the object path element after escaping).
    case applicationAdded(String)
    /// A registration was replaced: any of its properties may differ.
    case applicationChanged(String)
    case applicationRemoved(String)
    /// An invitation, incoming or outgoing, appeared (its id is the object path element).
    case invitationAdded(String)
    case invitationChanged(String, Set<InvitationProperty>)
    /// A finished invitation's retention ended.
    case invitationRemoved(String)
    /// An incoming invitation passed the policy and limits: the Manager's InvitationReceived,
    /// and a notification.
    case invitationReceived(String)
    /// The setting `invitationNotifications` changed on reload: notifications on screen are
    /// withdrawn when it turns off.
    case invitationNotificationsChanged(enabled: Bool)
}

/// The Manager's properties that can change while the daemon runs.
public enum ManagerProperty: String, Sendable, Hashable, CaseIterable {
    case displayName = "DisplayName"
    case email = "Email"
    case endpoints = "Endpoints"
    case signedIn = "SignedIn"
    case presenceStatus = "PresenceStatus"
    case presenceMessage = "PresenceMessage"
    case invitationPolicy = "InvitationPolicy"
    case objects = "Objects"
}

/// The Contact properties that can change while the object exists.
public enum ContactProperty: String, Sendable, Hashable, CaseIterable {
    case displayName = "DisplayName"
    case nickname = "Nickname"
    case email = "Email"
    case fingerprint = "Fingerprint"
    case verified = "Verified"
    case subscribeAllowed = "SubscribeAllowed"
    case subscribed = "Subscribed"
    case online = "Online"
    case presenceStatus = "PresenceStatus"
    case presenceMessage = "PresenceMessage"
    case peer = "Peer"
    case endpoints = "Endpoints"
    case applications = "Applications"
    case objects = "Objects"
    case lastSeen = "LastSeen"
}
