import PeerSessions
import PeerProtocol
import PeerSecurity

extension Collaboration {
    /// Signs in to `scope` (`near-me`, `internet` or `all`): from now on I am visible there
    /// and see others.
    public func signIn(_ scopeText: String) throws {
        let scopes = try Scope.parse(scopeText)
        let added = scopes.subtracting(signedIn)
        guard !added.isEmpty else { return }
        // Peers will want my certificate: a key that cannot be loaded fails here, with the
        // reason, rather than every connection later.
        _ = try loadedIdentity()
        // Kept before anything changes: if it cannot be written, the call fails and nothing did.
        try keepSignIn(signedIn.union(added))
        signedIn.formUnion(added)
        logger.info("Signed in", metadata: ["scopes": "\(added.sorted().map(\.rawValue))"])
        announce(.managerChanged([.signedIn]))
        if added.contains(.nearMe) { announce(.nearMeChanged(signedIn: true)) }
        if added.contains(.internet) { startInternetScope() }
    }

    /// Signs out of `scope`: others see me leave (goodbyes), channels in that scope close.
    public func signOut(_ scopeText: String) throws {
        let scopes = try Scope.parse(scopeText)
        let removed = scopes.intersection(signedIn)
        guard !removed.isEmpty else { return }
        do {
            try keepSignIn(signedIn.subtracting(removed))
        } catch {
            // Signing out is never refused: others must stop seeing me whatever the disk says.
            logger.error("Signed out, but could not keep that for the next start", metadata: ["reason": "\(error)"])
        }
        signedIn.subtract(removed)
        logger.info("Signed out", metadata: ["scopes": "\(removed.sorted().map(\.rawValue))"])
        for (id, peer) in peers where removed.contains(Scope(rawValue: peer.scope) ?? .internet) || signedIn.isEmpty {
            if let linkID = linkRegistry.linkID(ofPeer: id) { linkRegistry.link(linkID)?.close(PeerGoodbye(reason: .signedOut)) }
        }
        if removed.contains(.internet) { stopInternetScope() }
        if removed.contains(.nearMe) {
            nearbyDials.reset()
            cancelDeadline(.nearbyDials)
            announce(.nearMeChanged(signedIn: false))
        }
        announce(.managerChanged([.signedIn]))
    }

    /// What to announce near me: the peer name is the instance name (unique, derived from
    /// the key); TXT carries the version, the peer name, and the display name as a hint.
    public func nearMeAnnouncement(port: UInt16) -> (instanceName: String, txt: [String: String]) {
        var hint = Substring(displayName)
        while hint.utf8.count > 63 { hint = hint.dropLast() }
        return (identity.peerName.description,
                ["v": "1", "pn": identity.peerName.description, "dn": String(hint)])
    }

    // MARK: Announcements from the discovery layer

    /// Someone announces peercollab near me. The announcement is a claim: the session
    /// layer's rules (``NearbyDials``) bound such claims per source and in all, and say
    /// whom to dial and for how long; only the link that follows proves anything.
    public func nearbyServiceFound(_ service: NearbyService) {
        guard signedIn.contains(.nearMe), service.claimedPeerName != identity.peerName else { return }
        let id = service.claimedPeerName.description
        let claim = NearbyDials<ContactEndpoint>.Claim(
            instance: service.instanceName, peer: id, endpoints: service.endpoints, source: service.source,
            isContact: contacts[id] != nil, nameHint: InvisibleCharacters.stripped(String(service.nameHint.prefix(64))))
        let refusedBefore = nearbyDials.claimsRefused
        let (kept, orders) = nearbyDials.claimSeen(claim, now: clock.now)
        let refused = nearbyDials.claimsRefused
        // Logged at the first refusal and at every hundredth: a flood cannot fill the log.
        if refused > refusedBefore, refusedBefore == 0 || refused / 100 > refusedBefore / 100 {
            logger.warning(
                "Too many announcements near me from one host, or in all; the oldest unproved ones are forgotten (real peers still get places)",
                metadata: ["source": "\(service.source)", "forgotten_so_far": "\(refused)"])
        }
        guard kept else { return }
        logger.debug("Announcement seen near me", metadata: [
            "peer": "\(id)", "instance": "\(service.instanceName)", "addresses": "\(service.endpoints.map(\.description))", "dials": "\(orders.count)"])
        if var known = peers[id], known.scope != Scope.nearMe.rawValue {
            // Reached first by link or through the internet scope, and now seen on the link.
            known.scope = Scope.nearMe.rawValue
            peers[id] = known
            peerChanged(id, [.scope])
        }
        carryOut(orders)
    }

    /// Starts the dials the near-me rules ordered, each bounded by its deadline; what became
    /// of each goes back to the rules, which may order more.
    func carryOut(_ orders: [NearbyDials<ContactEndpoint>.Order]) {
        defer { nearbyDeadlineMoved() }
        guard let dialer else { return }
        for order in orders {
            guard let name = PeerName(order.peer) else { continue }
            Task { await self.dialNearby(order, name: name, dialer: dialer) }
        }
    }

    private func dialNearby(_ order: NearbyDials<ContactEndpoint>.Order, name: PeerName, dialer: Dialer) async {
        var failure: String? = "not announced any more"
        for endpoint in order.endpoints {
            guard peers[order.peer] == nil, signedIn.contains(.nearMe) else {
                failure = peers[order.peer] == nil ? failure : nil
                break
            }
            do {
                try await dialer(endpoint, name, .nearMe, order.within)
                failure = nil
                break
            } catch {
                failure = (error as? CollaborationError)?.message ?? "\(endpoint): \(error)"
                logger.notice("Could not reach a peer announced near me", metadata: ["peer": "\(order.peer)", "address": "\(endpoint)", "reason": "\(error)"])
            }
        }
        carryOut(nearbyDials.dialFinished(order.peer, failure: failure, now: clock.now))
    }

    func nearbyDeadlineMoved() {
        if let next = nearbyDials.nextDeadline {
            schedule(.nearbyDials, at: next)
        } else {
            cancelDeadline(.nearbyDials)
        }
    }

    /// The announcement went away (goodbye or expiry): the peer signed out or left.
    ///
    /// An announcement is a claim anyone on the link can make and withdraw, so its going
    /// away ends nothing: only the authenticated session (its goodbye, its keepalive limit,
    /// its close) ends a peer. It is a hint, though: the session is asked at once to prove
    /// the peer is still there (``recheckTimeout``), so one that really left goes quickly.
    public func nearbyServiceLost(instanceName: String) {
        defer { nearbyDeadlineMoved() }
        logger.debug("Announcement withdrawn near me", metadata: ["instance": "\(instanceName)"])
        guard let id = nearbyDials.claimWithdrawn(instance: instanceName), let linkID = linkRegistry.linkID(ofPeer: id), let link = linkRegistry.link(linkID) else { return }
        logger.info("An announcement of a connected peer was withdrawn; checking the session", metadata: ["peer": "\(id)"])
        link.probe(within: Self.recheckTimeout)
    }

    /// Whether a peer with this name announces itself near me now.
    func isAnnouncedNearby(_ name: PeerName) -> Bool {
        nearbyDials.isClaimed(name.description)
    }

    /// Peers announced near me that are not connected and whose last dial failed, with why
    /// (for `Diagnose`: a firewall on either side is the usual reason).
    public var unreachableNearby: [NearbyDials<ContactEndpoint>.Unreachable] { nearbyDials.unreachable }

    /// Dials to peers announced near me under way now.
    public var nearbyDialsUnderWay: Int { nearbyDials.dialsUnderWay }
}
