import FoundationEssentials
import PeerProtocol

/// My presence (what I set, and `idle` from logind while I am away from the keyboard), and
/// peers' presence as a state machine: online while heard, stale after a missed keepalive
/// (status kept, `LastSeen` frozen at the last time heard), gone when the session closes.
extension Collaboration {
    /// How long a peer has to answer the check after resume or a network change.
    public nonisolated static let recheckTimeout: Duration = .seconds(3)

    /// My presence as others who may see me see it.
    public var currentPresence: PeerPresence { presence }

    /// What I set with `setPresence`; differs from ``currentPresence`` while auto-idle holds.
    public var chosenPresence: PeerPresence { userPresence }

    /// Sets my presence (a status name of docs/dbus-api.md and a message of at most 1,024 bytes without
    /// control characters) and pushes it at once to every peer that may see it. Presence is
    /// not stored: like Windows at sign-in, every start of the daemon begins `online`.
    public func setPresence(status name: String, message: String) throws {
        let status = try PresenceRules.status(named: name)
        try PresenceRules.checkMessage(message)
        userPresence = PeerPresence(status: status, message: message)
        logger.info("Presence set", metadata: ["status": "\(name)"])
        updateEffectivePresence()
    }

    /// logind says the user is idle (or back). While idle, an `online` presence shows as
    /// `idle`; a status the user chose on purpose (busy, away, …) stays. Turned off by the
    /// setting `autoIdle: false`.
    public func setIdleHint(_ idle: Bool) {
        guard idle != isIdleHinted else { return }
        isIdleHinted = idle
        logger.info(idle ? "The session is idle" : "The session is active again")
        updateEffectivePresence()
    }

    /// Whether logind's idle hint may change my presence (the `autoIdle` setting, default on).
    public var autoIdleEnabled: Bool { settings.autoIdle ?? true }

    func updateEffectivePresence() {
        var effective = userPresence
        if isIdleHinted, autoIdleEnabled, effective.status == .online {
            effective.status = .idle
        }
        guard effective != presence else { return }
        var changed: Set<ManagerField> = []
        if effective.status != presence.status { changed.insert(.presenceStatus) }
        if effective.message != presence.message { changed.insert(.presenceMessage) }
        presence = effective
        announce(.managerChanged(changed))
        sendToFollowers(.presenceUpdate(effective))
    }

    // MARK: Peers' presence

    /// A profile from a peer, past the rate limit and with its presence made safe to show;
    /// nil when it is dropped.
    func admitProfile(_ linkID: Int, _ profile: PeerProfile) -> PeerProfile? {
        guard admitPushed(linkID) else {
            linkSubscriptions[linkID]?.needsProfile = true
            return nil
        }
        return PresenceRules.sanitized(profile)
    }

    /// A presence update from a peer (rate-limited: a flood is dropped, its newest shown
    /// when it is over).
    func presenceUpdateReceived(_ linkID: Int, _ presence: PeerPresence) {
        guard admitPushed(linkID) else {
            linkSubscriptions[linkID]?.pendingPresence = presence
            return
        }
        linkSubscriptions[linkID]?.pendingPresence = nil
        applyPresence(linkID, presence)
    }

    func applyPresence(_ linkID: Int, _ presence: PeerPresence) {
        guard let id = linkRegistry.peer(ofLink: linkID), var peer = peers[id], var profile = peer.profile else { return }
        let presence = PresenceRules.sanitized(presence)
        var changed: Set<PeerField> = [.lastSeen]
        if profile.presence.status != presence.status { changed.insert(.presenceStatus) }
        if profile.presence.message != presence.message { changed.insert(.presenceMessage) }
        profile.presence = presence
        peer.profile = profile
        peer.lastSeen = Self.microsecondsSinceEpoch()
        peers[id] = peer
        linkRegistry.markFresh(linkID)
        peerChanged(id, changed)
    }

    // MARK: Online, stale, gone

    /// A keepalive (ping or pong) arrived: the peer is there; `LastSeen` moves on.
    public func linkKeepalive(_ linkID: Int) {
        guard let id = linkRegistry.peer(ofLink: linkID), var peer = peers[id] else { return }
        peer.lastSeen = Self.microsecondsSinceEpoch()
        peers[id] = peer
        peerChanged(id, [.lastSeen])
    }

    /// The session says the peer missed a keepalive (`stale`) or answers again. A stale peer
    /// keeps its presence; its `LastSeen` stays at the last time it was heard, so a client
    /// shows "last seen …". The session closes it when the keepalive limit passes.
    public func linkStale(_ linkID: Int, _ stale: Bool) {
        guard let id = linkRegistry.peer(ofLink: linkID), var peer = peers[id] else { return }
        if stale {
            guard linkRegistry.markStale(linkID) else { return }
            logger.notice("A peer does not answer keepalives", metadata: ["peer": "\(id)"])
        } else {
            guard linkRegistry.markFresh(linkID) else { return }
            logger.info("A peer answers again", metadata: ["peer": "\(id)"])
            peer.lastSeen = Self.microsecondsSinceEpoch()
            peers[id] = peer
            peerChanged(id, [.lastSeen])
        }
    }

    /// Whether the peer `id` missed a keepalive and has not been heard since.
    public func isStale(_ id: String) -> Bool {
        linkRegistry.linkID(ofPeer: id).map { linkRegistry.isStale($0) } ?? false
    }

    /// After resume or a network change every link may be dead without knowing it: ping
    /// them all now; the session closes each that does not answer within
    /// ``recheckTimeout``, so nobody gone stays shown.
    public func recheckPeers(because reason: String) {
        guard linkRegistry.count > 0 else { return }
        logger.info("Checking that every peer is still there", metadata: ["reason": "\(reason)", "peers": "\(linkRegistry.count)"])
        for (_, link) in linkRegistry.all { link.probe(within: Self.recheckTimeout) }
    }

    /// Forgets what presence kept for a link that closed; fetches on it fail.
    func presenceLinkClosed(_ linkID: Int) {
        linkSubscriptions[linkID] = nil
        cancelDeadline(.floodFlush(linkID: linkID))
        linkRegistry.markFresh(linkID)
        failObjectFetches(on: linkID)
    }
}
