import PeerSessions
import NIOCore
import PeerProtocol

extension Collaboration {
    /// The timeout of an invitation sent with 0: Windows' synchronous invitations gave up after 5 minutes.
    public nonisolated static let defaultInvitationTimeout: UInt32 = 300
    /// Outgoing invitations pending at once; memory stays bounded whatever a caller does.
    public nonisolated static let maximumPendingOutgoingInvitations = 1024
    /// Callers waiting on one invitation at once.
    public nonisolated static let maximumWaitersPerInvitation = 64
    /// How long an invitee waits for the inviter's verdict after answering.
    nonisolated static let verdictGrace: Duration = .seconds(10)
    /// How often an accepted invitation kept past its retention for its channels is looked at again.
    nonisolated static let inUseRecheck: Duration = .seconds(60)

    /// Installs who says whether an accepted invitation is still in use (its application
    /// channels are open): such an invitation outlives its retention until they end.
    public func setInvitationInUse(_ inUse: @escaping @Sendable (String) -> Bool) {
        invitationInUse = inUse
    }

    // MARK: Settings

    /// Who may invite me.
    public var invitationPolicy: InvitationPolicy { settings.invitationPolicy ?? .standard }

    /// Changes who may invite me; returns after it is on disk.
    public func setInvitationPolicy(_ text: String) throws {
        let policy = try InvitationPolicy.parse(text)
        guard policy != invitationPolicy else { return }
        try updateSettings { $0.invitationPolicy = policy }
        logger.info("Invitation policy changed", metadata: ["policy": "\(policy.rawValue)"])
        announce(.managerChanged([.invitationPolicy]))
    }

    /// Whether incoming invitations are shown as desktop notifications.
    public var invitationNotificationsEnabled: Bool { settings.invitationNotifications ?? true }

    var invitationRetention: Duration { .seconds(max(0, min(settings.invitationRetentionSeconds ?? 600, 86_400))) }
    var invitationPendingPerPeer: Int { max(1, settings.invitationPendingPerPeer ?? 8) }
    var invitationsPerSecondPerPeer: Double { max(0.001, settings.invitationsPerSecondPerPeer ?? 1) }

    /// Installs how accepted invitations start their application (the daemon does at start).
    public func setApplicationLauncher(_ launch: @escaping @Sendable (InvitationLaunch) async -> String?) {
        invitationBook.launcher = launch
    }

    // MARK: Queries

    public func invitation(_ id: String) -> Invitation? { invitationBook.invitations[id] }

    /// The invitation `id` as clients see it.
    public func invitationView(_ id: String) -> InvitationView? {
        invitationBook.invitations[id].map { InvitationView(invitation: $0, peerIsContact: contacts[$0.peerID] != nil) }
    }

    public var allInvitations: [Invitation] { invitationBook.invitations.values.sorted { ($0.created, $0.id) < ($1.created, $1.id) } }

    /// Whether I have the peer on my contact list (then an invitation points at the contact).
    public func isContact(_ peerID: String) -> Bool { contacts[peerID] != nil }

    // MARK: Inviting

    /// Invites a peer into an application; returns the new outgoing invitation's id at once.
    /// Its state tells the outcome; `timeoutSeconds` 0 means the default (300 s). A contact
    /// that is not connected is dialled at its endpoints first (internet scope).
    public func invite(
        peerID: String, applicationID: String, message: String, data: [UInt8], timeoutSeconds: UInt32
    ) async throws(CollaborationError) -> String {
        try Self.checkApplicationID(applicationID)
        guard message.utf8.count <= PeerProtocolLimits.invitationMessageMaximumBytes else {
            throw .invalidArgument(
                "The message is \(message.utf8.count) bytes; at most \(PeerProtocolLimits.invitationMessageMaximumBytes) bytes of UTF-8 are allowed.")
        }
        guard data.count <= PeerProtocolLimits.invitationDataMaximumBytes else {
            throw .invalidArgument("The data is \(data.count) bytes; at most \(PeerProtocolLimits.invitationDataMaximumBytes) (64 KiB) are allowed.")
        }
        let timeout = timeoutSeconds == 0 ? Self.defaultInvitationTimeout : timeoutSeconds
        guard PeerProtocolLimits.invitationTimeoutSeconds.contains(timeout) else {
            throw .invalidArgument("The timeout is \(timeout) s; use 1 to 3600 seconds (0 for the default, 300).")
        }
        guard peerID != identity.peerName.description else { throw .invalidArgument("You cannot invite yourself.") }
        if linkRegistry.linkID(ofPeer: peerID) == nil { try await reachContactToInvite(peerID) }
        guard let peer = peers[peerID], let linkID = linkRegistry.linkID(ofPeer: peerID), let link = linkRegistry.link(linkID) else {
            throw CollaborationError(.peerUnreachable, "\(peerID) is not connected now; invite someone who is (peercollabctl near).")
        }
        guard link.capabilities.contains(.invitations) else {
            throw CollaborationError(
                .notSupported, "\(peer.displayName.isEmpty ? peerID : peer.displayName) runs software that does not take invitations; they would have to update peercollab.")
        }
        guard invitationBook.pendingOutgoingCount < Self.maximumPendingOutgoingInvitations else {
            throw CollaborationError(
                .rateLimited, "\(Self.maximumPendingOutgoingInvitations) invitations are pending already; cancel some or wait for answers.")
        }
        let id = Self.newInvitationID()
        let now = Self.microsecondsSinceEpoch()
        let invitation = Invitation(
            id: id, direction: .outgoing, peerID: peerID, peerDisplayName: peer.displayName, applicationID: applicationID,
            message: message, data: data, created: now, expires: now + UInt64(timeout) * 1_000_000, wireID: id)
        let offer = InvitationOffer(
            invitationID: id, applicationID: applicationID, message: message, data: ByteBuffer(bytes: data), timeoutSeconds: timeout)
        invitationBook.invitations[id] = invitation
        invitationBook.expiresAt[id] = clock.now + .seconds(Int64(timeout))
        armInvitationTimer(id, after: .seconds(Int64(timeout)))
        logger.info("Invitation sent", metadata: ["invitation": "\(id)", "peer": "\(peerID)", "application": "\(applicationID)"])
        announce(.invitationAdded(id))
        link.send(.invitation(offer))
        return id
    }

    /// A contact not connected now: dial its endpoints (signed in to the internet scope), so
    /// that the invitation can go; else say what would make it reachable.
    private func reachContactToInvite(_ peerID: String) async throws(CollaborationError) {
        guard let record = contacts[peerID] else { return }  // Not a contact: `invite` says it is not connected.
        let name = record.nickname.isEmpty ? (record.displayName.isEmpty ? peerID : record.displayName) : record.nickname
        guard signedIn.contains(.internet) else {
            throw CollaborationError(
                .peerUnreachable,
                "The contact \(name) is not connected now; sign in to the internet scope (peercollabctl signin internet) to reach contacts at their endpoints.")
        }
        guard !record.endpoints.isEmpty else {
            throw CollaborationError(
                .peerUnreachable, "The contact \(name) is not connected now and has no endpoint to dial; give it one with the contact's AddEndpoint, or import a card that has one.")
        }
        logger.info("Dialling a contact to invite it", metadata: ["contact": "\(peerID)"])
        do {
            try await dialContactNow(peerID)
        } catch let error as CollaborationError {
            throw CollaborationError(.peerUnreachable, "The contact \(name) is not connected now and could not be reached. \(error.message)")
        } catch {
            throw CollaborationError(.peerUnreachable, "The contact \(name) is not connected now and could not be reached: \(error)")
        }
    }

    /// Cancels one of my pending invitations; final at once, and the invitee is told.
    public func cancelInvitation(_ id: String) throws(CollaborationError) {
        var invitation = try existingInvitation(id)
        let message = try invitation.cancel()
        invitationBook.invitations[id] = invitation
        send(message, to: invitation.peerID)
        logger.info("Invitation cancelled", metadata: ["invitation": "\(id)"])
        invitationFinished(id)
    }

    // MARK: Answering

    /// Accepts an incoming invitation: starts its application (if it was registered with a
    /// command), answers the inviter, and returns once the inviter confirmed. A launch that
    /// fails answers `failed` with the reason, and this throws it.
    public func acceptInvitation(_ id: String, caller: String? = nil) async throws(CollaborationError) {
        var invitation = try existingInvitation(id)
        try invitation.beginAnswer(.accepted)
        invitationBook.invitations[id] = invitation
        var outcome = InvitationOutcome.accepted
        var reason = ""
        if let application = applications[invitation.applicationID] {
            if !application.exec.isEmpty || !application.desktopID.isEmpty, let launcher = invitationBook.launcher {
                let launch = InvitationLaunch(
                    invitationID: id, applicationID: application.id, exec: application.exec, desktopID: application.desktopID)
                if let failure = await launcher(launch) {
                    outcome = .failed
                    reason = failure
                }
            }
        } else {
            outcome = .failed
            reason = "\(invitation.applicationID) is no longer registered on the invitee's side"
        }
        try await answer(id, outcome, reason: reason, caller: caller)
    }

    /// Declines an incoming invitation; returns once the inviter confirmed.
    public func declineInvitation(_ id: String, caller: String? = nil) async throws(CollaborationError) {
        var invitation = try existingInvitation(id)
        try invitation.beginAnswer(.declined)
        invitationBook.invitations[id] = invitation
        try await answer(id, .declined, reason: "", caller: caller)
    }

    /// Sends the reserved answer and waits for the verdict; throws unless it is the answer.
    private func answer(_ id: String, _ outcome: InvitationOutcome, reason: String, caller: String?) async throws(CollaborationError) {
        // A verdict (a Cancel, an expiry) or the peer leaving may have come while the
        // application was being started: the invitation is final then, and that is the answer.
        guard var invitation = invitationBook.invitations[id] else {
            throw .notFound("The invitation \(id) is gone.")
        }
        if invitation.state == .pending {
            invitation.reviseAnswer(outcome)
            invitationBook.invitations[id] = invitation
            if let message = invitation.answerMessage(reason: reason) { send(message, to: invitation.peerID) }
            armInvitationTimer(id, at: max(invitationBook.expiresAt[id] ?? clock.now, clock.now + Self.verdictGrace))
            logger.info("Invitation answered", metadata: ["invitation": "\(id)", "answer": "\(outcome)"])
        }
        let final = await waitForFinalState(id, caller: caller)
        guard let final else { throw .failed("The wait for the inviter's confirmation of \(id) ended.") }
        let ended = invitationBook.invitations[id]
        if final == InvitationState(outcome) {
            if final == .failed { throw .failed("Failed to start the application: \(reason)") }
            return
        }
        let why = ended.map { $0.reason.isEmpty ? "" : " (\($0.reason))" } ?? ""
        throw CollaborationError(.invalidState, "The invitation \(id) ended as \(final.rawValue)\(why) before your answer counted.")
    }

    // MARK: Waiting

    /// Returns the final state of an invitation: at once if it is final, else when it becomes so.
    public func waitForInvitation(_ id: String, caller: String?) async throws(CollaborationError) -> InvitationState {
        let invitation = try existingInvitation(id)
        if invitation.state.isFinal { return invitation.state }
        guard (invitationBook.waiters[id]?.count ?? 0) < Self.maximumWaitersPerInvitation else {
            throw CollaborationError(.rateLimited, "\(Self.maximumWaitersPerInvitation) callers wait for \(id) already.")
        }
        guard let final = await waitForFinalState(id, caller: caller) else {
            throw .failed("The wait for \(id) ended without an outcome.")
        }
        return final
    }

    private func waitForFinalState(_ id: String, caller: String?) async -> InvitationState? {
        if let state = invitationBook.invitations[id]?.state, state.isFinal { return state }
        guard invitationBook.invitations[id] != nil else { return nil }
        invitationBook.nextWaiter += 1
        let token = invitationBook.nextWaiter
        return await withCheckedContinuation { continuation in
            invitationBook.waiters[id, default: [:]][token] = InvitationWaiter(caller: caller, continuation: continuation)
        }
    }

    /// A bus client left: its waits end now (their replies have nobody to go to).
    public func callerVanished(_ caller: String) {
        var ended = 0
        for (id, waiters) in invitationBook.waiters {
            for (token, waiter) in waiters where waiter.caller == caller {
                invitationBook.waiters[id]?[token] = nil
                waiter.continuation.resume(returning: nil)
                ended += 1
            }
            if invitationBook.waiters[id]?.isEmpty == true { invitationBook.waiters[id] = nil }
        }
        if ended > 0 {
            logger.debug("Ended the waits of a caller that left the bus", metadata: ["caller": "\(caller)", "waits": "\(ended)"])
        }
    }

    /// How many callers wait now (for tests and diagnostics).
    public var invitationWaiterCount: Int { invitationBook.waiters.values.reduce(0) { $0 + $1.count } }

    // MARK: From the network

    /// An invitation message from a peer (called from `linkReceived`).
    func invitationMessageReceived(from peerID: String, _ message: PeerMessage) {
        switch message {
        case .invitation(let offer):
            offerReceived(offer, from: peerID)
        case .invitationResponse(let response):
            responseReceived(response, from: peerID)
        case .invitationCancel(let wireID):
            let key = InvitationBook.IncomingKey(peerID: peerID, wireID: wireID)
            guard let id = invitationBook.incoming[key], var invitation = invitationBook.invitations[id] else { return }
            if invitation.receiveVerdict(.cancelled, reason: "") {
                invitationBook.invitations[id] = invitation
                logger.info("Invitation cancelled by the inviter", metadata: ["invitation": "\(id)", "peer": "\(peerID)"])
                invitationFinished(id)
            }
        default:
            break
        }
    }

    private func offerReceived(_ offer: InvitationOffer, from peerID: String) {
        let key = InvitationBook.IncomingKey(peerID: peerID, wireID: offer.invitationID)
        // A repeated offer (a peer's retry) is the invitation already shown, never a second one.
        guard invitationBook.incoming[key] == nil else { return }
        func refuse(_ reason: String) {
            logger.notice("Refused an invitation", metadata: ["peer": "\(peerID)", "application": "\(offer.applicationID)", "reason": "\(reason)"])
            send(.invitationResponse(InvitationResponse(invitationID: offer.invitationID, outcome: .failed, reason: reason)), to: peerID)
        }
        var bucket = invitationBook.rates[peerID]
            ?? TokenBucket(capacity: max(1, invitationsPerSecondPerPeer.rounded(.up)), perSecond: invitationsPerSecondPerPeer)
        let allowed = bucket.take(now: clock.now)
        invitationBook.rates[peerID] = bucket
        guard allowed else {
            return refuse("too many invitations at once; at most \(Self.rateText(invitationsPerSecondPerPeer)) a second are accepted")
        }
        // My own outgoing invitation ids answer to responses from that peer; an offer reusing
        // one would make them ambiguous.
        if let mine = invitationBook.invitations[offer.invitationID], mine.direction == .outgoing, mine.peerID == peerID {
            return refuse("the invitation id is already in use")
        }
        switch invitationPolicy {
        case .nobody:
            return refuse("\(displayName) does not accept invitations")
        case .contacts where contacts[peerID] == nil:
            return refuse("\(displayName) accepts invitations from contacts only")
        case .anyone, .contacts:
            break
        }
        guard let application = applications[offer.applicationID] else {
            return refuse("the application \(offer.applicationID) is not registered on \(displayName)'s side")
        }
        if let scope = peers[peerID]?.scope, application.scope != "all", application.scope != scope {
            return refuse("the application \(offer.applicationID) takes invitations from the \(application.scope) scope only")
        }
        guard invitationBook.pendingIncomingCount(from: peerID) < invitationPendingPerPeer else {
            return refuse("\(invitationPendingPerPeer) of your invitations are pending already")
        }
        let id = Self.newInvitationID()
        let now = Self.microsecondsSinceEpoch()
        let invitation = Invitation(
            id: id, direction: .incoming, peerID: peerID, peerDisplayName: peers[peerID]?.displayName ?? "",
            applicationID: offer.applicationID, message: offer.message, data: Array(offer.data.readableBytesView),
            created: now, expires: now + UInt64(offer.timeoutSeconds) * 1_000_000, wireID: offer.invitationID)
        invitationBook.invitations[id] = invitation
        invitationBook.incoming[key] = id
        invitationBook.expiresAt[id] = clock.now + .seconds(Int64(offer.timeoutSeconds))
        armInvitationTimer(id, after: .seconds(Int64(offer.timeoutSeconds)))
        logger.info("Invitation received", metadata: ["invitation": "\(id)", "peer": "\(peerID)", "application": "\(offer.applicationID)"])
        announce(.invitationAdded(id))
        announce(.invitationReceived(id))
    }

    private func responseReceived(_ response: InvitationResponse, from peerID: String) {
        // To my outgoing invitation: the invitee's answer. To an incoming one: the verdict.
        if var invitation = invitationBook.invitations[response.invitationID], invitation.direction == .outgoing,
            invitation.peerID == peerID
        {
            guard let verdict = invitation.receiveAnswer(response.outcome, reason: response.reason) else { return }
            invitationBook.invitations[invitation.id] = invitation
            send(verdict, to: peerID)
            logger.info("Invitation answered by the peer", metadata: ["invitation": "\(invitation.id)", "outcome": "\(response.outcome)"])
            invitationFinished(invitation.id)
            return
        }
        let key = InvitationBook.IncomingKey(peerID: peerID, wireID: response.invitationID)
        guard let id = invitationBook.incoming[key], var invitation = invitationBook.invitations[id] else { return }
        guard invitation.receiveVerdict(InvitationState(response.outcome), reason: response.reason) else { return }
        invitationBook.invitations[id] = invitation
        invitationFinished(id)
    }

    /// The peer's link closed: its pending invitations, both ways, failed (called from `linkClosed`).
    func invitationsPeerLeft(_ peerID: String) {
        invitationBook.rates[peerID] = nil
        for (id, var invitation) in invitationBook.invitations where invitation.peerID == peerID {
            guard invitation.linkLost() else { continue }
            invitationBook.invitations[id] = invitation
            logger.info("Invitation failed: the peer left", metadata: ["invitation": "\(id)", "peer": "\(peerID)"])
            invitationFinished(id)
        }
    }

    // MARK: Following the peer

    /// The peer became or stopped being a contact: the invitations with it point at the
    /// contact's object or the peer's now.
    func invitationsFollowContacts(of peerID: String) {
        for invitation in invitationBook.invitations.values where invitation.peerID == peerID {
            announce(.invitationChanged(invitation.id, [.peer]))
        }
    }

    /// The peer's display name changed: the invitations with it show the new one.
    func invitationsFollowName(of peerID: String) {
        guard let name = peers[peerID]?.displayName, !name.isEmpty else { return }
        for var invitation in invitationBook.invitations.values where invitation.peerID == peerID && invitation.peerDisplayName != name {
            invitation.peerDisplayName = name
            invitationBook.invitations[invitation.id] = invitation
            announce(.invitationChanged(invitation.id, [.displayName]))
        }
    }

    // MARK: Settings reloaded

    /// The settings were read again (`systemctl --user reload`): what changed in them applies
    /// now, to invitations under way too (called from `reload`).
    func invitationSettingsReloaded(from before: Settings) {
        if settings.invitationNotifications != before.invitationNotifications {
            logger.info("Invitation notifications \(invitationNotificationsEnabled ? "on" : "off")")
            announce(.invitationNotificationsChanged(enabled: invitationNotificationsEnabled))
        }
        if settings.invitationRetentionSeconds != before.invitationRetentionSeconds {
            // Finished invitations are withdrawn when the new retention says, counted from when they ended.
            for (id, finished) in invitationBook.finishedAt {
                armInvitationTimer(id, at: finished + invitationRetention)
            }
        }
        if settings.invitationsPerSecondPerPeer != before.invitationsPerSecondPerPeer {
            invitationBook.rates = [:]  // Each peer's bucket starts again at the new rate.
        }
    }

    /// What the invitation book holds now, for `Diagnose`: it returns to nothing when every
    /// invitation was withdrawn.
    public var invitationBookSummary: String {
        let book = invitationBook
        let pending = book.invitations.values.count { $0.state == .pending }
        return "\(book.invitations.count) invitations (\(pending) pending), \(invitationWaiterCount) callers waiting, "
            + "\(book.invitations.keys.count { timetable.deadline(of: .invitation($0)) != nil }) timers, "
            + "\(book.incoming.count) incoming ids, \(book.rates.count) rate limits"
    }

    // MARK: Life cycle

    /// The invitation just became final: waiters hear it, the D-Bus object shows it, and it is
    /// withdrawn after the retention.
    private func invitationFinished(_ id: String) {
        guard let invitation = invitationBook.invitations[id] else { return }
        for waiter in (invitationBook.waiters.removeValue(forKey: id) ?? [:]).values {
            waiter.continuation.resume(returning: invitation.state)
        }
        announce(.invitationChanged(id, [.state, .reason]))
        invitationBook.finishedAt[id] = clock.now
        armInvitationTimer(id, after: invitationRetention)
    }

    func invitationTimerFired(_ id: String) {
        guard var invitation = invitationBook.invitations[id] else { return }
        guard invitation.state == .pending else {
            // An accepted invitation whose applications still talk over channels stays:
            // withdrawing it would cut them off mid-session. Checked again a minute later.
            if invitation.state == .accepted, invitationInUse?(id) == true {
                armInvitationTimer(id, after: Self.inUseRecheck)
                return
            }
            withdrawInvitation(id)
            return
        }
        switch invitation.timerFired() {
        case .none:
            break
        case .finished(let message):
            invitationBook.invitations[id] = invitation
            if let message { send(message, to: invitation.peerID) }
            logger.info("Invitation ended by its timer", metadata: ["invitation": "\(id)", "state": "\(invitation.state.rawValue)"])
            invitationFinished(id)
        case .answered(let message):
            invitationBook.invitations[id] = invitation
            send(message, to: invitation.peerID)
            armInvitationTimer(id, after: Self.verdictGrace)
        }
    }

    private func withdrawInvitation(_ id: String) {
        guard let invitation = invitationBook.invitations.removeValue(forKey: id) else { return }
        cancelDeadline(.invitation(id))
        invitationBook.finishedAt[id] = nil
        invitationBook.expiresAt[id] = nil
        if invitation.direction == .incoming {
            invitationBook.incoming[InvitationBook.IncomingKey(peerID: invitation.peerID, wireID: invitation.wireID)] = nil
        }
        for waiter in (invitationBook.waiters.removeValue(forKey: id) ?? [:]).values {
            waiter.continuation.resume(returning: invitation.state.isFinal ? invitation.state : nil)
        }
        announce(.invitationRemoved(id))
    }

    private func armInvitationTimer(_ id: String, after delay: Duration) {
        schedule(.invitation(id), after: delay)
    }

    private func armInvitationTimer(_ id: String, at deadline: ContinuousClock.Instant) {
        schedule(.invitation(id), at: deadline)
    }

    private func existingInvitation(_ id: String) throws(CollaborationError) -> Invitation {
        guard let invitation = invitationBook.invitations[id] else {
            throw .notFound("No invitation \(id.prefix(100)) exists (finished ones are withdrawn after a while).")
        }
        return invitation
    }

    private func send(_ message: PeerMessage, to peerID: String) {
        guard let linkID = linkRegistry.linkID(ofPeer: peerID), let link = linkRegistry.link(linkID) else { return }
        link.send(message)
    }

    /// 128 random bits in hex: unguessable, and a valid object path element and wire id.
    nonisolated static func newInvitationID() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (value: UInt64) -> String in
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    private nonisolated static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
