import PeerProtocol
import PeerSecurity

/// What changed in the domain, with a complete view of the thing that changed, taken at the
/// moment of the change. Observers get it on the actor, in order, before the call that
/// caused it returns: the D-Bus layer turns each into its signal synchronously, so a client
/// sees the signal before the reply, and every value in it comes from the same moment.
public enum CollaborationEvent: Sendable, Equatable {
    /// Parts of the local user changed.
    case managerChanged(LocalUserView, Set<ManagerField>)
    /// I signed in to or out of the near-me scope: the discovery layer starts or stops
    /// announcing and browsing.
    case nearMeChanged(signedIn: Bool)
    /// A peer proved its key and its profile arrived: it can be shown, complete.
    case peerAdded(PeerView)
    case peerChanged(PeerView, Set<PeerField>)
    /// A peer that was shown left: goodbye, lost channel, or sign-out.
    case peerRemoved(String)
    /// A contact was added to the list (its id is its peer name).
    case contactAdded(ContactDetails)
    case contactChanged(ContactDetails, Set<ContactField>)
    case contactRemoved(String)
    /// An application was registered.
    case applicationAdded(ApplicationRecord)
    /// A registration was replaced: any of its parts may differ.
    case applicationChanged(ApplicationRecord)
    case applicationRemoved(String)
    /// An invitation, incoming or outgoing, appeared.
    case invitationAdded(InvitationView)
    case invitationChanged(InvitationView, Set<InvitationField>)
    /// A finished invitation's retention ended.
    case invitationRemoved(String)
    /// An incoming invitation passed the policy and limits: the Manager's
    /// InvitationReceived, and a notification.
    case invitationReceived(InvitationView)
    /// The setting `invitationNotifications` changed on reload: notifications on screen are
    /// withdrawn when it turns off.
    case invitationNotificationsChanged(enabled: Bool)
}

/// The parts of the local user that change while the daemon runs.
public enum ManagerField: Sendable, Hashable, CaseIterable {
    case displayName, email, endpoints, signedIn, presenceStatus, presenceMessage, invitationPolicy, objects, signInAutomatically
}

/// The parts of a shown peer that change.
public enum PeerField: Sendable, Hashable, CaseIterable {
    case displayName, addresses, presenceStatus, presenceMessage, applications, objects, lastSeen, scope, contact
}

/// The parts of a contact that change.
public enum ContactField: Sendable, Hashable, CaseIterable {
    case displayName, nickname, email, fingerprint, verified, subscribeAllowed, subscribed, online
    case presenceStatus, presenceMessage, peer, endpoints, applications, objects, lastSeen
}

/// The parts of an invitation that change.
public enum InvitationField: Sendable, Hashable, CaseIterable {
    case state, reason, displayName, peer
}

/// The local user, whole, as clients see it.
public struct LocalUserView: Sendable, Equatable {
    public var peerName: PeerName
    public var fingerprint: Fingerprint
    public var displayName: String
    /// "" when none is set.
    public var email: String
    public var signedIn: [Scope]
    public var presence: PeerPresence
    public var invitationPolicy: InvitationPolicy
    /// Whether sign-in and presence are kept across restarts.
    public var signInAutomatically: Bool
    public var endpoints: [ContactEndpoint]
    /// The ids of the objects I publish, sorted.
    public var objectIDs: [String]
}

/// A shown peer, whole: what it proved and said, and whether it is one of my contacts.
public struct PeerView: Sendable, Equatable {
    public var peer: RemotePeer
    public var isContact: Bool

    public var id: String { peer.id }
}

/// An invitation, whole, and whether its peer is one of my contacts (clients are pointed
/// at the contact's object then).
public struct InvitationView: Sendable, Equatable {
    public var invitation: Invitation
    public var peerIsContact: Bool

    public var id: String { invitation.id }
}

/// What changed, as the domain's own code says it: ids and parts. ``Collaboration`` turns
/// each into a ``CollaborationEvent`` with the views, at once.
enum DomainChange: Sendable, Equatable {
    case managerChanged(Set<ManagerField>)
    case nearMeChanged(signedIn: Bool)
    case peerAdded(String)
    case peerChanged(String, Set<PeerField>)
    /// `shown`: the peer as it was shown (nil: its profile never arrived).
    case peerRemoved(String, shown: RemotePeer?)
    case contactAdded(String)
    case contactChanged(String, Set<ContactField>)
    case contactRemoved(String)
    case applicationAdded(String)
    case applicationChanged(String)
    case applicationRemoved(String)
    case invitationAdded(String)
    case invitationChanged(String, Set<InvitationField>)
    case invitationRemoved(String)
    case invitationReceived(String)
    case invitationNotificationsChanged(enabled: Bool)
}
