import Collaboration
import PeerProtocol
import Testing

/// The rules of an invitation's life, without a socket: the inviter decides, final is final.
@Suite struct InvitationLifecycleTests {
    func make(_ direction: InvitationDirection) -> Invitation {
        Invitation(
            id: "abc", direction: direction, peerID: "peer", peerDisplayName: "Ann", applicationID: "org.example.App",
            message: "hi", data: [], created: 1, expires: 2, wireID: "w1")
    }

    @Test func theInviterMakesTheFirstAnswerFinalAndSendsItBack() {
        var invitation = make(.outgoing)
        let verdict = invitation.receiveAnswer(.accepted, reason: "")
        #expect(verdict == .invitationResponse(InvitationResponse(invitationID: "w1", outcome: .accepted)))
        #expect(invitation.state == .accepted)
        // A later answer, or a cancel, changes nothing.
        let step1 = invitation.receiveAnswer(.declined, reason: "")
        #expect(step1 == nil)
        #expect(throws: CollaborationError.self) { try invitation.cancel() }
        #expect(invitation.state == .accepted)
    }

    @Test func aCancelBeforeTheAnswerWinsAndTheLateAnswerIsIgnored() throws {
        var invitation = make(.outgoing)
        let cancelMessage = try invitation.cancel()
        #expect(cancelMessage == .invitationCancel(invitationID: "w1"))
        let step2 = invitation.receiveAnswer(.accepted, reason: "")
        #expect(step2 == nil)
        #expect(invitation.state == .cancelled)
    }

    @Test func theInviteeStaysPendingUntilTheVerdictAndAnswersOnce() throws {
        var invitation = make(.incoming)
        try invitation.beginAnswer(.accepted)
        #expect(invitation.state == .pending)
        #expect(invitation.answerMessage() == .invitationResponse(InvitationResponse(invitationID: "w1", outcome: .accepted)))
        #expect(throws: CollaborationError.self) { try invitation.beginAnswer(.declined) }
        // The inviter had cancelled first: its verdict is what counts.
        let step3 = invitation.receiveVerdict(.cancelled, reason: "")
        #expect(step3)
        #expect(invitation.state == .cancelled)
        let step4 = invitation.receiveVerdict(.accepted, reason: "")
        #expect(!step4)
        #expect(throws: CollaborationError.self) { try invitation.beginAnswer(.accepted) }
    }

    @Test func onlyTheInviterCancelsAndOnlyTheInviteeAnswers() {
        var incoming = make(.incoming)
        var outgoing = make(.outgoing)
        #expect(throws: CollaborationError.self) { try incoming.cancel() }
        #expect(throws: CollaborationError.self) { try outgoing.beginAnswer(.accepted) }
        let step5 = outgoing.receiveVerdict(.accepted, reason: "")
        #expect(!step5)
        let step6 = incoming.receiveAnswer(.accepted, reason: "")
        #expect(step6 == nil)
    }

    @Test func timers() {
        var outgoing = make(.outgoing)
        let step7 = outgoing.timerFired()
        #expect(step7 == .finished(.invitationResponse(InvitationResponse(invitationID: "w1", outcome: .expired))))
        #expect(outgoing.state == .expired)
        let step8 = outgoing.timerFired()
        #expect(step8 == Invitation.TimerStep.none)
        // The invitee answers "expired" and lets the inviter decide; unconfirmed, it gives up.
        var incoming = make(.incoming)
        let step9 = incoming.timerFired()
        #expect(step9 == .answered(.invitationResponse(InvitationResponse(invitationID: "w1", outcome: .expired))))
        #expect(incoming.state == .pending)
        let step10 = incoming.timerFired()
        #expect(step10 == .finished(nil))
        #expect(incoming.state == .failed)
    }

    @Test func aLostLinkFailsOnlyWhatIsPending() {
        var pending = make(.incoming)
        let step11 = pending.linkLost()
        #expect(step11)
        #expect(pending.state == .failed)
        #expect(!pending.reason.isEmpty)
        var done = make(.outgoing)
        _ = done.receiveAnswer(.declined, reason: "")
        let step12 = done.linkLost()
        #expect(!step12)
        #expect(done.state == .declined)
    }
}
