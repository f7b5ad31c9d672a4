@testable import Collaboration
import Foundation
import PeerProtocol
import PeerSecurity
import Synchronization
import Testing

/// The domain's rules about time and links, on a manual clock and fake links: floods,
/// object fetch timeouts, invitation expiry, dial rate limits and back-off, duplicates,
/// and peers shown only when complete. No sleeping: each runs in milliseconds.
@Suite struct DomainRulesTests {
    /// The domain error `body` throws, if any.
    func domainError(_ body: () async throws -> Void) async -> CollaborationError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? CollaborationError
        }
    }

    func presenceMessages(_ events: [CollaborationEvent]) -> [String] {
        events.compactMap {
            guard case .peerChanged(let view, let fields) = $0, fields.contains(.presenceMessage) else { return nil }
            return view.peer.presence.message
        }
    }

    @Test func aPresenceFloodIsCutAtTheRateLimitAndEndsOnTheNewest() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let link = FakeLink(id: 1)
        try await lab.connect(link)
        _ = lab.takeEvents()
        for index in 0..<30 {
            await lab.collaboration.linkReceived(1, .presenceUpdate(PeerPresence(status: .busy, message: "flood \(index)")))
        }
        // 10 at once: the profile took the first.
        #expect(presenceMessages(lab.takeEvents()) == (0..<9).map { "flood \($0)" })
        await lab.advance(by: .milliseconds(999))
        #expect(lab.takeEvents().isEmpty)
        // After a second of dropping, the newest dropped one is shown.
        await lab.advance(by: .milliseconds(1))
        #expect(presenceMessages(lab.takeEvents()) == ["flood 29"])
        // A quiet second ends the burst; then updates pass again and nothing is left to wake for.
        await lab.advance(by: .seconds(1))
        #expect(await lab.collaboration.nextDeadline == nil)
        await lab.collaboration.linkReceived(1, .presenceUpdate(PeerPresence(status: .away, message: "back to normal")))
        #expect(presenceMessages(lab.takeEvents()) == ["back to normal"])
    }

    @Test func anObjectRequestThePeerNeverAnswersTimesOutAfterTenSeconds() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let link = FakeLink(id: 1)
        let peer = try await lab.connect(link).peerName.description
        let collaboration = lab.collaboration
        let fetch = Task { try await collaboration.object(ofPeer: peer, objectID: "board") }
        try await settle("the request is sent") { link.sent.contains { if case .objectRequest = $0 { true } else { false } } }
        await lab.advance(by: .milliseconds(9_999))
        await lab.advance(by: .milliseconds(1))
        let error = await domainError { _ = try await fetch.value }
        #expect(error?.code == .timeout, "\(String(describing: error))")
        #expect(await lab.collaboration.nextDeadline == nil)
    }

    @Test func anObjectFromAPeerWithoutTheObjectsCapabilityIsNotSupported() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let peer = try await lab.connect(FakeLink(id: 1, capabilities: [.presence])).peerName.description
        let error = await domainError { _ = try await lab.collaboration.object(ofPeer: peer, objectID: "board") }
        #expect(error?.code == .notSupported)
    }

    @Test func anUnansweredInvitationExpiresOnTimeAndIsWithdrawnAfterTheRetention() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let link = FakeLink(id: 1)
        let peer = try await lab.connect(link).peerName.description
        let id = try await lab.collaboration.invite(peerID: peer, applicationID: "org.example.Board", message: "", data: [], timeoutSeconds: 5)
        await lab.advance(by: .milliseconds(4_999))
        #expect(await lab.collaboration.invitation(id)?.state == .pending)
        await lab.advance(by: .milliseconds(1))
        #expect(await lab.collaboration.invitation(id)?.state == .expired)
        #expect(link.sent.contains(.invitationResponse(InvitationResponse(invitationID: id, outcome: .expired))))
        await lab.advance(by: .seconds(599))
        #expect(await lab.collaboration.invitation(id) != nil)
        await lab.advance(by: .seconds(1))
        #expect(await lab.collaboration.invitation(id) == nil)
        #expect(lab.takeEvents().contains(.invitationRemoved(id)))
        #expect(await lab.collaboration.nextDeadline == nil)
    }

    @Test func anAcceptedInvitationWhoseChannelsAreOpenOutlivesItsRetentionUntilTheyEnd() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let inUse = Mutex(true)
        await lab.collaboration.setInvitationInUse { _ in inUse.withLock { $0 } }
        let link = FakeLink(id: 1)
        let peer = try await lab.connect(link).peerName.description
        let id = try await lab.collaboration.invite(peerID: peer, applicationID: "org.example.Board", message: "", data: [], timeoutSeconds: 5)
        await lab.collaboration.linkReceived(1, .invitationResponse(InvitationResponse(invitationID: id, outcome: .accepted)))
        try await settle("accepted") { await lab.collaboration.invitation(id)?.state == .accepted }
        // Far past the 600 s retention, the channels are still open: it stays.
        for _ in 0..<12 { await lab.advance(by: .seconds(60)) }
        #expect(await lab.collaboration.invitation(id) != nil, "withdrawn while its channels were open")
        inUse.withLock { $0 = false }
        await lab.advance(by: .seconds(60))
        #expect(await lab.collaboration.invitation(id) == nil, "kept after its channels ended")
        #expect(await lab.collaboration.nextDeadline == nil)
    }

    @Test func invitingAPeerWhoseHelloLacksInvitationsIsNotSupported() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let link = FakeLink(id: 1, capabilities: [.presence, .objects])
        let peer = try await lab.connect(link, displayName: "Old Software").peerName.description
        let error = await domainError {
            _ = try await lab.collaboration.invite(peerID: peer, applicationID: "org.example.Board", message: "", data: [], timeoutSeconds: 5)
        }
        #expect(error?.code == .notSupported)
        #expect(error?.message.contains("Old Software") == true)
        #expect(!link.sent.contains { if case .invitation = $0 { true } else { false } })
    }

    @Test func oneHostAnnouncingManyPeersKeepsItsShareAndAnotherHostIsDialledAtOnce() async throws {
        let lab = try await DomainLab()
        let dialled = Mutex<[(PeerName, Duration)]>([])
        await lab.collaboration.setDialer { _, name, _, within in
            dialled.withLock { $0.append((name, within)) }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        try await lab.collaboration.signIn("near-me")
        let fakes = (0..<30).map { PeerName(publicKeyDER: Array("fake \($0)".utf8)) }
        for (index, name) in fakes.enumerated() {
            await lab.collaboration.nearbyServiceFound(NearbyService(
                instanceName: "instance-\(index)", claimedPeerName: name, endpoints: [ContactEndpoint(host: "192.0.2.1", port: 9)]))
        }
        let real = PeerName(publicKeyDER: Array("real".utf8))
        await lab.collaboration.nearbyServiceFound(NearbyService(
            instanceName: "real", claimedPeerName: real, endpoints: [ContactEndpoint(host: "192.0.2.2", port: 46773)]))
        try await settle("the real peer's dial") { dialled.withLock { $0.contains { $0.0 == real } } }
        // Claims never proved get the short deadline; of one host's, 8 are kept.
        #expect(dialled.withLock { $0.allSatisfy { $0.1 == .seconds(3) } })
        // One host's claims are dialled 2 a second at most: the rest follow on the clock.
        for _ in 0..<20 where await lab.collaboration.unreachableNearby.count < 9 {
            await lab.advance(by: .milliseconds(500))
            try await settle("the dials of this step") { await lab.collaboration.nearbyDialsUnderWay == 0 }
        }
        #expect(await lab.collaboration.unreachableNearby.count == 9)
        let kept = Set(await lab.collaboration.unreachableNearby.map(\.peer))
        #expect(kept == Set((fakes.suffix(8) + [real]).map(\.description)), "the newest claims of a host replace its oldest")
    }

    @Test func aContactThatDoesNotAnswerIsDialledAgainAfterTwoThenFourSeconds() async throws {
        let lab = try await DomainLab()
        let dials = Mutex(0)
        await lab.collaboration.setDialer { _, _, _, _ in
            dials.withLock { $0 += 1 }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        let (contact, _) = try lab.stranger()
        let card = ContactCard(
            displayName: "Grace", peerName: contact.peerName.description, certificateDER: contact.certificateDER,
            endpoints: [ContactEndpoint(host: "192.0.2.9", port: 4000)]
        ).encode()
        _ = try await lab.collaboration.addContact(card: card)
        try await lab.collaboration.signIn("internet")
        // A round ends when the dialer failed and the next round is due at a deadline.
        try await settle("the first round") { await lab.collaboration.nextDeadline != nil }
        #expect(dials.withLock { $0 } == 1)
        // After one failed round 2 s ± 20 %, after two 4 s ± 20 %.
        await lab.advance(by: .milliseconds(1_590))
        #expect(dials.withLock { $0 } == 1)
        await lab.advance(by: .milliseconds(820))
        try await settle("the second round after about two seconds") {
            dials.withLock { $0 } == 2 ? await lab.collaboration.nextDeadline != nil : false
        }
        await lab.advance(by: .milliseconds(3_190))
        #expect(dials.withLock { $0 } == 2)
        await lab.advance(by: .milliseconds(1_620))
        try await settle("the third round after about four seconds") { dials.withLock { $0 } == 3 }
        try await lab.collaboration.signOut("internet")
        #expect(await lab.collaboration.nextDeadline == nil)
    }

    @Test func aPeerIsShownOnlyOnceItsProfileArrivedAndOnlyThenSaidToLeave() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let (_, peer) = try lab.stranger()
        let id = peer.peerName.description
        let link = FakeLink(id: 1)
        _ = lab.takeEvents()
        #expect(await lab.collaboration.linkEstablished(link, peer: peer, scope: .nearMe))
        await lab.collaboration.linkKeepalive(1)
        #expect(await lab.collaboration.peer(id) == nil)
        #expect(lab.takeEvents().isEmpty)
        await lab.collaboration.linkReceived(1, .profile(PeerProfile(displayName: "Ada", presence: PeerPresence(status: .busy))))
        guard case .peerAdded(let view)? = lab.takeEvents().first else { Issue.record("no peerAdded"); return }
        #expect(view.peer.displayName == "Ada")
        #expect(view.peer.presence.status == .busy)
        await lab.collaboration.linkClosed(1)
        #expect(lab.takeEvents() == [.peerRemoved(id)])

        // One that never sends a profile comes and goes unseen.
        let (_, silent) = try lab.stranger()
        #expect(await lab.collaboration.linkEstablished(FakeLink(id: 2), peer: silent, scope: .nearMe))
        await lab.collaboration.linkClosed(2)
        #expect(lab.takeEvents().isEmpty)
    }

    @Test func twoLinksToOnePeerKeepTheOneDialledByTheLowerNameOnBothSides() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let (_, peer) = try lab.stranger()
        let outgoing = FakeLink(id: 1, isOutgoing: true)
        let incoming = FakeLink(id: 2, isOutgoing: false)
        #expect(await lab.collaboration.linkEstablished(outgoing, peer: peer, scope: .nearMe))
        await lab.collaboration.linkReceived(1, .profile(PeerProfile(displayName: "Ada", presence: PeerPresence(status: .online))))
        let keptSecond = await lab.collaboration.linkEstablished(incoming, peer: peer, scope: .nearMe)
        // I keep my outgoing link when my name sorts lower, else theirs.
        let preferOutgoing = lab.identity.peerName < peer.peerName
        #expect(keptSecond == !preferOutgoing)
        let dropped = preferOutgoing ? incoming : outgoing
        let kept = preferOutgoing ? outgoing : incoming
        #expect(dropped.goodbyes.map(\.reason) == [.duplicateConnection])
        #expect(kept.goodbyes.isEmpty)
        // Still one peer, announced once; closing the dropped link does not make it leave.
        await lab.collaboration.linkClosed(dropped.id)
        #expect(await lab.collaboration.peer(peer.peerName.description) != nil)
        #expect(lab.takeEvents().filter { if case .peerAdded = $0 { true } else { false } }.count == 1)
    }

    @Test func aContactComingOnlineAndLeavingSignalsOnlyWhatChanged() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let (identity, peer) = try lab.stranger()
        let card = ContactCard(
            displayName: "Ada", peerName: identity.peerName.description, certificateDER: identity.certificateDER,
            endpoints: [ContactEndpoint(host: "192.0.2.9", port: 4000)]
        ).encode()
        let id = try await lab.collaboration.addContact(card: card)
        _ = lab.takeEvents()
        func contactFields(_ events: [CollaborationEvent]) -> [Set<ContactField>] {
            events.compactMap { if case .contactChanged(_, let fields) = $0 { fields } else { nil } }
        }
        #expect(await lab.collaboration.linkEstablished(FakeLink(id: 1), peer: peer, scope: .nearMe))
        // The same name it has on its card, and no applications or objects: those do not change.
        await lab.collaboration.linkReceived(1, .profile(PeerProfile(displayName: "Ada", presence: PeerPresence(status: .busy))))
        let online = contactFields(lab.takeEvents())
        #expect(online == [[.online, .peer, .presenceStatus, .lastSeen]], "\(online)")
        await lab.collaboration.linkClosed(1)
        let offline = contactFields(lab.takeEvents())
        #expect(offline == [[.online, .peer, .presenceStatus]], "\(offline)")
        #expect(await lab.collaboration.contact(id)?.isOnline == false)
    }

    @Test func aWithdrawnAnnouncementEndsNoSessionItOnlyAsksTheSessionForProof() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        let link = FakeLink(id: 1)
        let peer = try await lab.connect(link)
        let id = peer.peerName.description
        // Anyone on the link can announce a peer's name and withdraw it (an mDNS goodbye).
        await lab.collaboration.nearbyServiceFound(NearbyService(
            instanceName: "impostor", claimedPeerName: peer.peerName, endpoints: [ContactEndpoint(host: "192.0.2.66", port: 9)]))
        _ = lab.takeEvents()
        await lab.collaboration.nearbyServiceLost(instanceName: "impostor")
        #expect(link.goodbyes.isEmpty, "the proved session was closed on a claim")
        #expect(link.probes == [Collaboration.recheckTimeout])
        #expect(await lab.collaboration.peer(id) != nil)
        #expect(lab.takeEvents().isEmpty)
    }

    @Test func strangersAreBoundedPerAddressAndInAllWhileContactsAlwaysGetIn() async throws {
        let lab = try await DomainLab()
        try await lab.collaboration.signIn("near-me")
        var linkID = 0
        func link(from host: String) -> FakeLink {
            linkID += 1
            return FakeLink(id: linkID, isOutgoing: false, remote: ContactEndpoint(host: host, port: 40_000))
        }
        // One host with fresh keys: 8 get in, the ninth does not.
        for index in 0..<Collaboration.maximumStrangersPerAddress {
            #expect(await lab.collaboration.linkEstablished(link(from: "192.0.2.66"), peer: try lab.stranger().authenticated, scope: nil), "stranger \(index)")
        }
        let ninth = link(from: "192.0.2.66")
        #expect(await !lab.collaboration.linkEstablished(ninth, peer: try lab.stranger().authenticated, scope: nil))
        #expect(ninth.goodbyes.map(\.reason) == [.notAllowed])
        // Others fill the rest, 8 per address, up to 128 in all.
        var host = 1
        while await lab.collaboration.linkEstablished(link(from: "198.51.100.\(host / 8 + 1)"), peer: try lab.stranger().authenticated, scope: nil) {
            host += 1
            guard host < 400 else { Issue.record("no bound on strangers"); return }
        }
        #expect(host - 1 + Collaboration.maximumStrangersPerAddress == Collaboration.maximumStrangers)
        // A contact still gets in, from the crowded host too.
        let (identity, contactPeer) = try lab.stranger()
        _ = try await lab.collaboration.addContact(card: ContactCard(
            displayName: "Grace", peerName: identity.peerName.description, certificateDER: identity.certificateDER,
            endpoints: [ContactEndpoint(host: "192.0.2.66", port: 4000)]).encode())
        #expect(await lab.collaboration.linkEstablished(link(from: "192.0.2.66"), peer: contactPeer, scope: nil))
    }
}
