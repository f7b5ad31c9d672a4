import PeerSessions
import PeerProtocol
import PeerSecurity

/// The internet scope: while signed in to it, keep a channel to every contact at the
/// endpoints it gave (its card or AddEndpoint), reconnecting with back-off. The channel is
/// the same as near me: TLS proves the key, which must be the contact's pinned one.
extension Collaboration {
    /// Contacts dialled at once; the others wait their turn.
    public nonisolated static var maximumContactDials: Int { ContactDials.Limits().roundsAtOnce }

    /// Signed in to the internet scope: dial every contact not connected yet.
    func startInternetScope() {
        carryOutContactRounds(contactDials.start(contacts.keys.sorted(), now: clock.now))
    }

    /// Signed out of the internet scope: no more dials (the links close with a goodbye).
    func stopInternetScope() {
        contactDials.stop()
        contactDeadlineMoved()
    }

    /// The network may have changed (resume from sleep, a new connection): the back-off
    /// no longer means anything, so every peer announced near me and every contact not
    /// connected is dialled again at once.
    public func networkChanged() {
        if signedIn.contains(.nearMe) { carryOut(nearbyDials.networkChanged(now: clock.now)) }
        guard signedIn.contains(.internet) else { return }
        logger.info("Network changed; dialling contacts again")
        carryOutContactRounds(contactDials.networkChanged(now: clock.now))
    }

    /// A contact's peer is shown: no dial is needed; the connection's age will tell whether
    /// it resets the back-off.
    func contactConnected(_ id: String) {
        guard contacts[id] != nil else { return }
        contactDials.connected(id, now: clock.now)
        contactDeadlineMoved()
    }

    /// A contact's link closed: dial it again after the back-off (reset if it had held).
    func contactDisconnected(_ id: String) {
        guard contacts[id] != nil, signedIn.contains(.internet) else { return }
        carryOutContactRounds(contactDials.disconnected(id, now: clock.now))
    }

    /// A contact was added or given an endpoint: a round now, if signed in to the internet.
    func contactNeedsDial(_ id: String) {
        carryOutContactRounds(contactDials.contactNeedsDial(id, now: clock.now))
    }

    /// Starts the rounds the rules ordered that are still needed; each reports back.
    func carryOutContactRounds(_ ids: [String]) {
        var work = ids
        while !work.isEmpty {
            let id = work.removeFirst()
            // Connected near me or by a dial already under way, or nowhere to dial: no round.
            guard signedIn.contains(.internet), let record = contacts[id], !record.endpoints.isEmpty, peers[id] == nil,
                !nearbyDials.isDialling(id), let name = PeerName(id), let dialer
            else {
                work += contactDials.roundFinished(id, reached: nil, now: clock.now)
                continue
            }
            let endpoints = record.endpoints
            Task { await self.runContactRound(id, name: name, endpoints: endpoints, dialer: dialer) }
        }
        contactDeadlineMoved()
    }

    private func runContactRound(_ id: String, name: PeerName, endpoints: [ContactEndpoint], dialer: Dialer) async {
        var lastError = ""
        for endpoint in endpoints {
            guard signedIn.contains(.internet), contacts[id] != nil, peers[id] == nil else { break }
            do {
                try await dialer(endpoint, name, .internet, Self.dialDeadline)
                break
            } catch {
                lastError = "\(endpoint): \(error)"
            }
        }
        let reached = peers[id] != nil
        if !reached, signedIn.contains(.internet), contacts[id] != nil {
            logger.debug(
                "Could not reach a contact; trying again later",
                metadata: ["contact": "\(id)", "failed_rounds": "\(contactDials.failedRounds(id) + 1)", "reason": "\(lastError)"])
        }
        carryOutContactRounds(contactDials.roundFinished(id, reached: reached, now: clock.now))
    }

    func contactDeadlineMoved() {
        if let next = contactDials.nextDeadline {
            schedule(.contactDials, at: next)
        } else {
            cancelDeadline(.contactDials)
        }
    }

    /// Dials a contact's endpoints now, in order, for Refresh; throws PeerUnreachable with
    /// the last failure when none answers with the contact's key.
    func dialContactNow(_ id: String) async throws {
        guard let record = contacts[id], let name = PeerName(id) else { throw CollaborationError.notFound("There is no contact \(id).") }
        guard let dialer else {
            throw CollaborationError(.peerUnreachable, "The daemon is not connected to the network yet.")
        }
        var failures: [String] = []
        for endpoint in record.endpoints {
            if peers[id] != nil { return }
            do {
                try await dialer(endpoint, name, .internet, Self.dialDeadline)
            } catch {
                failures.append("\(error)")
            }
        }
        guard peers[id] != nil else {
            throw CollaborationError(.peerUnreachable, "The contact answered at none of its endpoints: \(failures.joined(separator: "; "))")
        }
    }
}
