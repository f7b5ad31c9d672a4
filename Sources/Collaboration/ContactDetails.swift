import PeerProtocol
import PeerSecurity

/// A contact as the bus shows it: what is stored (the pinned key and the user's decisions)
/// and, while the contact is connected, what its peer says now; else offline with the last
/// time it was seen.
public struct ContactDetails: Sendable, Equatable {
    /// The stored record.
    public var record: ContactRecord
    /// SHA-256 of the pinned certificate.
    public var fingerprint: Fingerprint
    /// The code both users compare to confirm the key (the same on both sides).
    public var verificationCode: VerificationCode
    /// The connected peer with this key, if any (its id equals the contact's).
    public var peer: RemotePeer?
    /// When the contact was last heard from (µs since the epoch; 0: not since the daemon started).
    public var lastSeen: UInt64

    /// The contact's id: its peer name, also the id of its Peer object when connected.
    public var id: String { record.peerName }
    public var isOnline: Bool { peer != nil }
    /// What the peer says of itself now; offline while not connected.
    public var presence: PeerPresence { peer?.presence ?? PeerPresence(status: .offline) }
    /// The name the contact gave (card or profile); a claim, unlike the peer name.
    public var displayName: String {
        if let shown = peer?.profile?.displayName, !shown.isEmpty { return shown }
        return record.displayName
    }
    public var applicationIDs: [String] { peer?.profile?.applicationIDs ?? [] }
    public var objectIDs: [String] { peer?.profile?.objects.map(\.id) ?? [] }
}

extension ContactDetails {
    /// The parts whose values differ between `self` and `other`: what a change from one to
    /// the other must signal, and nothing more.
    func fields(differingFrom other: ContactDetails) -> Set<ContactField> {
        var fields: Set<ContactField> = []
        if displayName != other.displayName { fields.insert(.displayName) }
        if record.nickname != other.record.nickname { fields.insert(.nickname) }
        if record.email != other.record.email { fields.insert(.email) }
        if fingerprint != other.fingerprint { fields.insert(.fingerprint) }
        if record.verified != other.record.verified { fields.insert(.verified) }
        if record.subscribeAllowed != other.record.subscribeAllowed { fields.insert(.subscribeAllowed) }
        if record.subscribed != other.record.subscribed { fields.insert(.subscribed) }
        if isOnline != other.isOnline { fields.insert(.online); fields.insert(.peer) }
        if presence.status != other.presence.status { fields.insert(.presenceStatus) }
        if presence.message != other.presence.message { fields.insert(.presenceMessage) }
        if record.endpoints != other.record.endpoints { fields.insert(.endpoints) }
        if applicationIDs != other.applicationIDs { fields.insert(.applications) }
        if objectIDs != other.objectIDs { fields.insert(.objects) }
        if lastSeen != other.lastSeen { fields.insert(.lastSeen) }
        return fields
    }
}

