import PeerSessions
import PeerProtocol

/// Who may see my presence and objects, and the subscription messages that decide it.
///
/// Peers near me always may (People Near Me showed everyone on the subnet what they set).
/// Over the internet scope only a contact I allow (`SubscribeAllowed`) who follows me (sent
/// `subscription(true)` on the current link). Everyone else gets a profile with presence
/// `offline` and no objects, and no presence updates or object changes.
extension Collaboration {
    /// Whether the peer on `linkID` may see my presence and objects now.
    func maySeeMe(_ linkID: Int) -> Bool {
        guard let id = linkRegistry.peer(ofLink: linkID), let peer = peers[id] else { return false }
        if peer.scope == Scope.nearMe.rawValue { return true }
        return contacts[id]?.subscribeAllowed == true && linkSubscriptions[linkID]?.peerSubscribed == true
    }

    /// Whether the peer `id` may see my presence and objects now.
    public func maySeeMe(peer id: String) -> Bool {
        linkRegistry.linkID(ofPeer: id).map(maySeeMe) ?? false
    }

    /// What the peer on `linkID` is shown of me.
    func profile(forLink linkID: Int) -> PeerProfile {
        maySeeMe(linkID) ? localProfile() : hiddenProfile()
    }

    /// What the peer `id` is shown of me (the full profile when it may see me, else one
    /// that is offline and publishes no objects).
    public func profile(forPeer id: String) -> PeerProfile {
        linkRegistry.linkID(ofPeer: id).map(profile(forLink:)) ?? hiddenProfile()
    }

    /// What someone who may not see me is shown: my name and applications, offline, no objects.
    private func hiddenProfile() -> PeerProfile {
        var profile = localProfile()
        profile.presence = PeerPresence(status: .offline)
        profile.objects = []
        return profile
    }

    /// A link was kept: greet it with what it may see, and follow it if I follow that contact.
    func presenceLinkEstablished(_ link: any PeerLink) {
        var state = LinkSubscription()
        state.sharing = false
        linkSubscriptions[link.id] = state
        sendProfile(on: link.id)
        if let id = linkRegistry.peer(ofLink: link.id), contacts[id]?.subscribed == true {
            link.send(.subscription(subscribed: true))
            linkSubscriptions[link.id]?.sentSubscribed = true
        }
    }

    /// Sends the profile the link's peer may see, and remembers whether it was the full one.
    func sendProfile(on linkID: Int) {
        guard let link = linkRegistry.link(linkID) else { return }
        // Read first: an optional-chained assignment holds its access to the dictionary
        // while the right side runs, and maySeeMe reads the same dictionary.
        let sharing = maySeeMe(linkID)
        linkSubscriptions[linkID]?.sharing = sharing
        link.send(.profile(profile(forLink: linkID)))
    }

    /// The peer follows or stops following me.
    func subscriptionReceived(_ linkID: Int, _ subscribed: Bool) {
        guard linkSubscriptions[linkID] != nil, let id = linkRegistry.peer(ofLink: linkID) else { return }
        guard linkSubscriptions[linkID]?.peerSubscribed != subscribed else { return }
        linkSubscriptions[linkID]?.peerSubscribed = subscribed
        logger.info(subscribed ? "A peer follows my presence" : "A peer stopped following my presence", metadata: [
            "peer": "\(id)", "allowed": "\(contacts[id]?.subscribeAllowed == true)",
        ])
        reconsiderSharing(linkID)
    }

    /// Resends the profile when whether the peer may see me changed since the last one.
    func reconsiderSharing(_ linkID: Int) {
        guard let state = linkSubscriptions[linkID], state.sharing != maySeeMe(linkID) else { return }
        sendProfile(on: linkID)
    }

    /// The contacts helper calls this after adding or removing the contact `peerName` or
    /// changing its `SubscribeAllowed` or `Subscribed`: tells the peer (if connected) that I
    /// follow or stop following it, and sends it a new profile if what it may see changed.
    public func contactPermissionsChanged(_ peerName: String) {
        guard let linkID = linkRegistry.linkID(ofPeer: peerName), let link = linkRegistry.link(linkID), let state = linkSubscriptions[linkID] else { return }
        let following = contacts[peerName]?.subscribed == true
        if following != state.sentSubscribed {
            link.send(.subscription(subscribed: following))
            linkSubscriptions[linkID]?.sentSubscribed = following
        }
        reconsiderSharing(linkID)
    }

    /// Sends `message` to every peer that may see me.
    func sendToFollowers(_ message: PeerMessage) {
        let needed: PeerCapability? =
            switch message {
            case .presenceUpdate: .presence
            case .objectChanged: .objects
            default: nil
            }
        for (linkID, link) in linkRegistry.all where maySeeMe(linkID) && needed.map(link.capabilities.contains) != false {
            link.send(message)
        }
    }

    // MARK: Rate limit on what peers push

    /// Whether a presence update, profile or object change from `linkID` may be taken now;
    /// beyond the flood gate's rate they are dropped, with one log line per burst.
    func admitPushed(_ linkID: Int) -> Bool {
        guard var state = linkSubscriptions[linkID] else { return false }
        let verdict = state.flood.admit(now: clock.now)
        linkSubscriptions[linkID] = state
        guard case .drop(let burstStarted) = verdict else { return true }
        if burstStarted {
            logger.notice(
                "A peer sends presence updates faster than \(Int(FloodGate.perSecond)) a second; dropping them until it slows down",
                metadata: ["peer": "\(linkRegistry.peer(ofLink: linkID) ?? "?")"])
            schedule(.floodFlush(linkID: linkID), after: FloodGate.checkInterval)
        }
        return false
    }

    /// Once a second while dropping: show the newest dropped presence (so the display ends
    /// on the peer's latest), and when the burst is over ask for the profile if object
    /// changes were lost.
    func flushDropped(_ linkID: Int) {
        guard var state = linkSubscriptions[linkID] else { return }
        let presence = state.pendingPresence
        state.pendingPresence = nil
        var needsProfile = false
        switch state.flood.check() {
        case .stillFlooding:
            schedule(.floodFlush(linkID: linkID), after: FloodGate.checkInterval)
        case .over(let dropped):
            logger.notice("A peer's presence flood is over", metadata: ["peer": "\(linkRegistry.peer(ofLink: linkID) ?? "?")", "dropped": "\(dropped)"])
            needsProfile = state.needsProfile
            state.needsProfile = false
        case .quiet:
            break
        }
        linkSubscriptions[linkID] = state
        if let presence { applyPresence(linkID, presence) }
        if needsProfile { linkRegistry.link(linkID)?.send(.profileRequest) }
    }
}
