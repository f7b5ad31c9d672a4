import PeerProtocol
import PeerSecurity

/// The internet scope: while signed in to it, keep a channel to every contact at the
/// endpoints it gave (its card or AddEndpoint), reconnecting with back-off. The channel is
/// the same as near me: TLS proves the key, which must be the contact's pinned one.
extension Collaboration {
    /// Contacts dialled at once; the others wait their turn.
    public nonisolated static let maximumContactDials = 4

    /// Signed in to the internet scope: dial every contact not connected yet.
    func startInternetScope() {
        for id in contacts.keys.sorted() { scheduleContactDial(id, after: .zero) }
    }

    /// Signed out of the internet scope: no more dials (the links close with a goodbye).
    func stopInternetScope() {
        for id in contactRedials.keys { cancelDeadline(.contactRedial(id)) }
        contactRedials = [:]
        contactDialQueue = []
    }

    /// The network may have changed (resume from sleep, a new connection): the back-off
    /// no longer means anything, so every contact not connected is dialled again at once.
    public func networkChanged() {
        if signedIn.contains(.nearMe) { carryOut(nearbyDials.networkChanged(now: clock.now)) }
        guard signedIn.contains(.internet) else { return }
        logger.info("Network changed; dialling contacts again")
        for id in contacts.keys.sorted() where peers[id] == nil {
            contactRedials[id]?.attempts = 0
            scheduleContactDial(id, after: .zero)
        }
    }

    /// A contact's peer is shown: no dial is needed; the connection's age will tell whether
    /// it resets the back-off.
    func contactConnected(_ id: String) {
        guard contacts[id] != nil else { return }
        var redial = contactRedials[id] ?? ContactRedial()
        cancelDeadline(.contactRedial(id))
        redial.connectedSince = clock.now
        contactRedials[id] = redial
        contactDialQueue.removeAll { $0 == id }
    }

    /// A contact's link closed: dial it again after the back-off (reset if it had held).
    func contactDisconnected(_ id: String) {
        guard contacts[id] != nil, signedIn.contains(.internet) else { return }
        var redial = contactRedials[id] ?? ContactRedial()
        if let since = redial.connectedSince, since.duration(to: clock.now) >= ContactRedial.stableConnection {
            redial.attempts = 0
        }
        redial.connectedSince = nil
        contactRedials[id] = redial
        scheduleContactDial(id, after: ContactRedial.delay(afterAttempts: redial.attempts))
    }

    /// Dials the contact after `delay` (zero: queue it now), unless it needs no dial.
    func scheduleContactDial(_ id: String, after delay: Duration) {
        guard signedIn.contains(.internet), let record = contacts[id], !record.endpoints.isEmpty, peers[id] == nil else { return }
        if contactRedials[id] == nil { contactRedials[id] = ContactRedial() }
        if delay > .zero {
            schedule(.contactRedial(id), after: delay)
        } else {
            cancelDeadline(.contactRedial(id))
            enqueueContactDial(id)
        }
    }

    /// The back-off of `id` ended: its next round of dials.
    func contactRedialDue(_ id: String) {
        enqueueContactDial(id)
    }

    private func enqueueContactDial(_ id: String) {
        if !contactDialQueue.contains(id), !contactDialsUnderWay.contains(id) { contactDialQueue.append(id) }
        drainContactDials()
    }

    /// Starts queued dials while fewer than ``maximumContactDials`` are under way.
    private func drainContactDials() {
        while contactDialsUnderWay.count < Self.maximumContactDials, !contactDialQueue.isEmpty {
            let id = contactDialQueue.removeFirst()
            // Connected near me or by a dial already under way: nothing to do.
            guard signedIn.contains(.internet), let record = contacts[id], peers[id] == nil, !nearbyDials.isDialling(id),
                let name = PeerName(id), let dialer
            else { continue }
            contactDialsUnderWay.insert(id)
            let endpoints = record.endpoints
            Task { await self.runContactDial(id, name: name, endpoints: endpoints, dialer: dialer) }
        }
    }

    private func runContactDial(
        _ id: String, name: PeerName, endpoints: [ContactEndpoint],
        dialer: Dialer
    ) async {
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
        contactDialsUnderWay.remove(id)
        if peers[id] == nil, signedIn.contains(.internet), contacts[id] != nil {
            var redial = contactRedials[id] ?? ContactRedial()
            redial.attempts += 1
            contactRedials[id] = redial
            let delay = ContactRedial.delay(afterAttempts: redial.attempts)
            logger.debug(
                "Could not reach a contact; trying again later",
                metadata: ["contact": "\(id)", "attempts": "\(redial.attempts)", "retry_in": "\(delay)", "reason": "\(lastError)"])
            scheduleContactDial(id, after: delay)
        }
        drainContactDials()
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
