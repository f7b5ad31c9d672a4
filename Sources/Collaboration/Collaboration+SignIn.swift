import PeerProtocol
import PeerSecurity

extension Collaboration {
    /// The most peers shown at once; announcements beyond it are ignored with a log line.
    public nonisolated static let maximumPeers = 256
    /// Dials to announced peers under way at once.
    public nonisolated static let maximumPendingDials = 16

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
            if let linkID = linkOfPeer[id] { links[linkID]?.close(PeerGoodbye(reason: .signedOut)) }
        }
        if removed.contains(.internet) { stopInternetScope() }
        if removed.contains(.nearMe) {
            nearby = [:]
            deferredDials = []
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

    /// Someone announces peercollab near me: dial them (rate-limited, bounded) unless they
    /// are me, already connected, or I am not signed in near me.
    public func nearbyServiceFound(_ service: NearbyService) {
        guard signedIn.contains(.nearMe) else { return }
        let id = service.claimedPeerName.description
        guard service.claimedPeerName != identity.peerName else { return }
        if nearby[service.instanceName] == nil, nearby.count >= Self.maximumPeers {
            logger.warning("Too many peers announced near me; ignoring another", metadata: ["instance": "\(service.instanceName)"])
            return
        }
        nearby[service.instanceName] = service
        if var known = peers[id], known.scope != Scope.nearMe.rawValue {
            // Reached first by link or through the internet scope, and now seen on the link.
            known.scope = Scope.nearMe.rawValue
            peers[id] = known
            peerChanged(id, [.scope])
        }
        dialIfNeeded(service)
    }

    /// Dials an announced peer now, or queues it while the rate limit or the bound on dials
    /// under way holds (a real peer among many bogus announcements still gets its turn).
    /// Both sides may dial at once; the duplicate is resolved when the second link arrives.
    private func dialIfNeeded(_ service: NearbyService) {
        let id = service.claimedPeerName.description
        guard peers[id] == nil, !dialing.contains(id), !service.endpoints.isEmpty, let dialer else {
            deferredDials.remove(service.instanceName)
            return
        }
        guard dialing.count < Self.maximumPendingDials, dialAttempts.take(now: clock.now) else {
            if deferredDials.insert(service.instanceName).inserted, deferredDials.count == 1 {
                logger.notice("Connection attempts are rate-limited; queueing announced peers", metadata: ["peer": "\(id)"])
            }
            scheduleDeferredDials()
            return
        }
        deferredDials.remove(service.instanceName)
        dialing.insert(id)
        let endpoints = service.endpoints
        Task {
            await self.dialNearby(id: id, name: service.claimedPeerName, endpoints: endpoints, dialer: dialer)
        }
    }

    /// One deadline at a time drains the queue as the rate limit allows (10 a second).
    private func scheduleDeferredDials() {
        guard timetable.deadline(of: .nearbyDials) == nil, !deferredDials.isEmpty else { return }
        schedule(.nearbyDials, after: .milliseconds(100))
    }

    func drainDeferredDials() {
        for instance in deferredDials.sorted() {
            guard let service = nearby[instance], signedIn.contains(.nearMe) else {
                deferredDials.remove(instance)
                continue
            }
            dialIfNeeded(service)
            if !deferredDials.contains(instance) { continue }
            break  // Still limited: try again on the next tick.
        }
        scheduleDeferredDials()
    }

    private func dialNearby(
        id: String, name: PeerName, endpoints: [ContactEndpoint],
        dialer: @Sendable (ContactEndpoint, PeerName, Scope) async throws -> Void
    ) async {
        defer {
            dialing.remove(id)
            scheduleDeferredDials()
        }
        for endpoint in endpoints {
            guard peers[id] == nil, signedIn.contains(.nearMe) else { return }
            do {
                try await dialer(endpoint, name, .nearMe)
                return
            } catch {
                logger.notice("Could not reach a peer announced near me", metadata: ["peer": "\(id)", "address": "\(endpoint)", "reason": "\(error)"])
            }
        }
    }

    /// The announcement went away (goodbye or expiry): the peer signed out or left.
    ///
    /// An announcement is a claim anyone on the link can make and withdraw, so its going
    /// away ends nothing: only the authenticated session (its goodbye, its keepalive limit,
    /// its close) ends a peer. It is a hint, though: the session is asked at once to prove
    /// the peer is still there (``recheckTimeout``), so one that really left goes quickly.
    public func nearbyServiceLost(instanceName: String) {
        deferredDials.remove(instanceName)
        guard let service = nearby.removeValue(forKey: instanceName) else { return }
        let id = service.claimedPeerName.description
        guard let linkID = linkOfPeer[id], let link = links[linkID] else { return }
        logger.info("An announcement of a connected peer was withdrawn; checking the session", metadata: ["peer": "\(id)"])
        link.probe(within: Self.recheckTimeout)
    }

    /// Whether a peer with this name announces itself near me now.
    func isAnnouncedNearby(_ name: PeerName) -> Bool {
        nearby.values.contains { $0.claimedPeerName == name }
    }
}
