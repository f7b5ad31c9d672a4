import PeerSessions
import FoundationEssentials
import PeerProtocol
import PeerSecurity

extension Collaboration {
    /// What peers who may see me see of me: presence, registered applications and the
    /// objects I publish. ``profile(forPeer:)`` is what one peer is shown.
    public func localProfile() -> PeerProfile {
        PeerProfile(
            displayName: displayName, presence: presence, applicationIDs: registeredApplicationIDs(),
            objects: publishedObjects.values.sorted { $0.id < $1.id }.map {
                PublishedObject(id: $0.id, revision: $0.revision, size: UInt32($0.data.count))
            })
    }

    func broadcastProfile() {
        for (linkID, _) in linkRegistry.all { sendProfile(on: linkID) }
    }

    // MARK: Links from the network layer

    /// A session was authenticated and greeted: the peer becomes visible, unless it is me or
    /// a second connection to someone already connected. Returns whether the link was kept.
    public func linkEstablished(_ link: any PeerLink, peer: PeerAuthenticated, scope: Scope?) -> Bool {
        let id = peer.peerName.description
        // Whoever dials me while I am signed out learns nothing: not even my display name.
        guard link.isOutgoing || !signedIn.isEmpty else {
            logger.info("Refused a peer: not signed in", metadata: ["peer": "\(id)"])
            link.close(PeerGoodbye(reason: .notAllowed, message: "not signed in"))
            return false
        }
        let nearMe = signedIn.contains(.nearMe) && (link.isOnLocalNetwork || isAnnouncedNearby(peer.peerName))
        let scope = scope ?? (nearMe ? .nearMe : .internet)
        guard peer.peerName != identity.peerName else {
            logger.notice("Refused a connection to myself", metadata: ["peer": "\(id)"])
            link.close(PeerGoodbye(reason: .notAllowed, message: "connected to itself"))
            return false
        }
        guard contactKeyMatches(peer) else {
            logger.error("Refused a peer whose key differs from the contact's pinned key", metadata: ["peer": "\(id)"])
            link.close(PeerGoodbye(reason: .notAllowed, message: "key does not match"))
            return false
        }
        let admission = linkRegistry.admit(
            link, id: link.id, peer: id, isOutgoing: link.isOutgoing, source: link.remoteEndpoint?.host,
            iSortLower: identity.peerName < peer.peerName, isContact: { [contacts] in contacts[$0] != nil })
        switch admission {
        case .refuse(.duplicate):
            logger.debug("Closing a duplicate connection", metadata: ["peer": "\(id)"])
            link.close(PeerGoodbye(reason: .duplicateConnection))
            return false
        case .refuse(.tooManyStrangers(let fromSource, let connected)):
            logStrangerRefused(fromSource: fromSource, connected: connected, host: link.remoteEndpoint?.host)
            link.close(PeerGoodbye(reason: .notAllowed, message: "too many unverified peers are connected"))
            return false
        case .keep(let replaced):
            replaced?.close(PeerGoodbye(reason: .duplicateConnection))
        }
        nearbyDials.peerConnected(id)
        let now = Self.microsecondsSinceEpoch()
        // Where to reach the peer: the address I dialled; for a peer that dialled me, its
        // listening port follows (``PeerMessage/listeningPort(_:)``), so its source port is
        // shown only when it will not say.
        let addresses = link.isOutgoing || !link.capabilities.contains(.listeningPort) ? link.remoteEndpoint.map { [$0] } ?? [] : []
        if var known = peers[id] {
            known.addresses = addresses
            known.lastSeen = now
            peers[id] = known
            peerChanged(id, [.addresses, .lastSeen])
        } else {
            // Shown once its profile arrives (``linkReceived(_:_:)``), complete.
            peers[id] = RemotePeer(
                peerName: peer.peerName, certificate: peer.certificate, verificationCode: peer.verificationCode,
                scope: scope.rawValue, addresses: addresses, profile: nil, lastSeen: now)
            logger.info("Peer connected", metadata: ["peer": "\(id)", "verification_code": "\(peer.verificationCode)"])
        }
        presenceLinkEstablished(link)
        return true
    }

    /// A message from a peer's session.
    public func linkReceived(_ linkID: Int, _ message: PeerMessage) {
        guard let id = linkRegistry.peer(ofLink: linkID), var peer = peers[id] else { return }
        switch message {
        case .listeningPort(let port):
            guard let link = linkRegistry.link(linkID), !link.isOutgoing, link.capabilities.contains(.listeningPort),
                let host = link.remoteEndpoint?.host
            else { return }
            let addresses = [ContactEndpoint(host: host, port: port)]
            guard addresses != peer.addresses else { return }
            peer.addresses = addresses
            peers[id] = peer
            peerChanged(id, [.addresses])
        case .profile(let received):
            guard let profile = admitProfile(linkID, received) else { return }
            var changed: Set<PeerField> = [.lastSeen]
            let before = peer.profile
            if before?.displayName != profile.displayName { changed.insert(.displayName) }
            if before?.presence.status != profile.presence.status { changed.insert(.presenceStatus) }
            if before?.presence.message != profile.presence.message { changed.insert(.presenceMessage) }
            if before?.applicationIDs != profile.applicationIDs { changed.insert(.applications) }
            if before?.objects != profile.objects { changed.insert(.objects) }
            peer.profile = profile
            peer.lastSeen = Self.microsecondsSinceEpoch()
            peers[id] = peer
            if before == nil {
                peerShown(id)
            } else {
                peerChanged(id, changed)
            }
        case .presenceUpdate(let presence):
            presenceUpdateReceived(linkID, presence)
        case .subscription(let subscribed):
            subscriptionReceived(linkID, subscribed)
        case .objectRequest(let request):
            objectRequested(linkID, request)
        case .objectResponse(let response):
            objectResponseReceived(linkID, response)
        case .objectChanged(let change):
            objectChangeReceived(linkID, change)
        case .profileRequest:
            sendProfile(on: linkID)
        case .invitation, .invitationResponse, .invitationCancel:
            guard linkRegistry.link(linkID)?.capabilities.contains(.invitations) == true else {
                logger.notice("Ignoring an invitation message from a peer whose hello lacks invitations", metadata: ["peer": "\(id)"])
                return
            }
            invitationMessageReceived(from: id, message)
        case .goodbye(let goodbye):
            logger.info("Peer said goodbye", metadata: ["peer": "\(id)", "reason": "\(goodbye.reason)"])
        default:
            logger.debug("Ignoring a message this version does not act on", metadata: ["peer": "\(id)", "type": "\(message.type)"])
        }
    }

    /// The link closed (goodbye, error, timeout): its peer leaves unless another link took over.
    public func linkClosed(_ linkID: Int) {
        presenceLinkClosed(linkID)
        guard let id = detach(linkID) else { return }
        let removed = peers.removeValue(forKey: id)
        let shown = removed?.profile == nil ? nil : removed
        resumeShownWaiters(id, shown: false)
        invitationsPeerLeft(id)
        logger.info("Peer left", metadata: ["peer": "\(id)"])
        announce(.peerRemoved(id, shown: shown))
        if let shown { contactMirrorsPeerLeaving(id, shown) }
        contactDisconnected(id)
        // Still announced near me: it may come back, or have been lost silently.
        carryOut(nearbyDials.peerDisconnected(id, now: clock.now))
    }

    /// Forgets a link; returns its peer's id when it was that peer's current link.
    @discardableResult
    private func detach(_ linkID: Int) -> String? {
        linkRegistry.detach(linkID)
    }

    // MARK: Queries and requests from the bus

    /// The peer `id` if it is shown: connected, and its profile arrived.
    public func peer(_ id: String) -> RemotePeer? { shownPeer(id) }

    /// Every shown peer, by id.
    public var allPeers: [RemotePeer] { peers.values.filter { $0.profile != nil }.sorted { $0.id < $1.id } }

    // MARK: Strangers

    /// Peers that are not my contacts connected at once; contacts always have room.
    public nonisolated static var maximumStrangers: Int { LinkRegistry<any PeerLink>.Limits().strangers }
    /// Strangers refused since the start, for `Diagnose`.
    public var refusedStrangers: Int { linkRegistry.strangersRefused }
    /// Of those, from one source address: a host making fresh keys cannot fill the rest.
    public nonisolated static var maximumStrangersPerAddress: Int { LinkRegistry<any PeerLink>.Limits().strangersPerSource }

    /// Refusals of strangers are logged once per burst (a minute), with their count, so
    /// that a flood of fresh keys cannot fill the log.
    private func logStrangerRefused(fromSource: Bool, connected: Int, host: String?) {
        let now = clock.now
        guard lastStrangerLog.map({ $0.duration(to: now) >= .seconds(60) }) ?? true else { return }
        lastStrangerLog = now
        logger.warning(
            "Refused an unverified peer: \(fromSource ? "\(connected) are connected from \(host ?? "its address")" : "\(connected) are connected"); contacts still get in",
            metadata: ["refused_so_far": "\(linkRegistry.strangersRefused)"])
    }

    // MARK: What follows a peer's change

    /// The peer's profile arrived: clients see it, complete; its contact comes online, its
    /// redial back-off ends, and a `Connect` waiting for it replies.
    func peerShown(_ id: String) {
        announce(.peerAdded(id))
        contactMirrorsPeerArriving(id)
        contactConnected(id)
        resumeShownWaiters(id, shown: true)
    }

    /// Parts of a shown peer changed (nothing is said of a peer before it is shown): its
    /// contact mirrors them and invitations with it follow its name.
    func peerChanged(_ id: String, _ fields: Set<PeerField>) {
        guard shownPeer(id) != nil else { return }
        announce(.peerChanged(id, fields))
        contactMirrorsPeerChange(id, fields)
        if fields.contains(.displayName) { invitationsFollowName(of: id) }
    }

    /// The shown peer `id`, as clients see it.
    public func peerView(_ id: String) -> PeerView? {
        shownPeer(id).map { PeerView(peer: $0, isContact: contacts[id] != nil) }
    }

    func shownPeer(_ id: String) -> RemotePeer? {
        guard let peer = peers[id], peer.profile != nil else { return nil }
        return peer
    }

    /// Installs how to dial peers (the network layer does, once it runs).
    public func setDialer(_ dial: @escaping Dialer) {
        dialer = dial
    }

    /// Reaches the peer a contact link names, proves its key, and returns its id.
    public func connect(link text: String) async throws -> String {
        let link = try ContactLink(parsing: text)
        let id = link.peerName.description
        guard link.peerName != identity.peerName else {
            throw CollaborationError.invalidArgument("That contact link is your own.")
        }
        if peers[id] != nil { return id }
        guard let dialer else {
            throw CollaborationError(.peerUnreachable, "The daemon is not connected to the network yet.")
        }
        try await dialer(link.endpoint, link.peerName, .internet, Self.dialDeadline)
        // The reply names the Peer object: wait until it is there, complete.
        guard await waitUntilShown(id) else {
            throw CollaborationError(.peerUnreachable, "\(link.endpoint) proved the key of \(id), but the session closed before its profile arrived.")
        }
        return id
    }

    /// How long a dial to a peer I mean to reach may take (a contact, a link I was given).
    nonisolated static let dialDeadline: Duration = .seconds(10)

    /// How long a connected peer may take to send its profile before `Connect` gives up.
    nonisolated static let profileTimeout: Duration = .seconds(10)

    /// Whether the connected peer `id` is shown, waiting (up to ``profileTimeout``) for its
    /// profile; false when it left or never sent one.
    func waitUntilShown(_ id: String) async -> Bool {
        if shownPeer(id) != nil { return true }
        guard peers[id] != nil else { return false }
        nextShownWaiter &+= 1
        let token = nextShownWaiter
        return await withCheckedContinuation { continuation in
            shownWaiters[id, default: []].append((token, continuation))
            schedule(.profileWait(token: token), after: Self.profileTimeout)
        }
    }

    func resumeShownWaiters(_ id: String, shown: Bool) {
        for (token, waiter) in shownWaiters.removeValue(forKey: id) ?? [] {
            cancelDeadline(.profileWait(token: token))
            waiter.resume(returning: shown)
        }
    }

    /// A `Connect` waited ``profileTimeout`` for a profile that did not come.
    func profileWaitEnded(_ token: UInt64) {
        guard let (id, waiters) = shownWaiters.first(where: { $0.value.contains { $0.token == token } }),
            let index = waiters.firstIndex(where: { $0.token == token })
        else { return }
        let waiter = waiters[index].continuation
        shownWaiters[id]!.remove(at: index)
        if shownWaiters[id]?.isEmpty == true { shownWaiters[id] = nil }
        waiter.resume(returning: shownPeer(id) != nil)
    }

    /// Asks the peer for its profile again.
    public func refreshPeer(_ id: String) throws {
        guard let linkID = linkRegistry.linkID(ofPeer: id), let link = linkRegistry.link(linkID) else {
            throw CollaborationError.notFound("No peer \(id) is connected.")
        }
        link.send(.profileRequest)
    }

    /// Says goodbye to every peer (at shutdown).
    public func disconnectAll(_ reason: GoodbyeReason) {
        for (_, link) in linkRegistry.all { link.close(PeerGoodbye(reason: reason)) }
    }

    static func microsecondsSinceEpoch() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
    }
}
