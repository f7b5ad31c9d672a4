import NIOCore
import PeerProtocol

/// One invitation, incoming or outgoing, and the rules of its life (docs/dbus-api.md,
/// "Invitations: who decides").
///
/// The inviter decides every outcome. The invitee's Accept, Decline and its own expiry are
/// *answers*: sent to the inviter, which makes the first thing it learns final (an answer, its
/// own Cancel, or its own expiry) and tells the invitee that *verdict*. The invitee stays
/// `pending` until the verdict arrives, so both sides always end in the same state, also when
/// an Accept and a Cancel cross on the wire: the inviter saw one of them first, and that one
/// wins on both sides. Transitions do no I/O; they return the message the owner sends.
public struct Invitation: Sendable, Equatable {
    /// Random, `[0-9a-f]`, the object path element.
    public let id: String
    public let direction: InvitationDirection
    /// The peer's id (its peer name), whichever way the invitation goes.
    public let peerID: String
    /// The peer's display name as last heard (a claim).
    public var peerDisplayName: String
    public let applicationID: String
    public let message: String
    public let data: [UInt8]
    public private(set) var state: InvitationState = .pending
    /// Why it ended (mostly for `failed`); "" otherwise.
    public private(set) var reason: String = ""
    /// µs since the epoch.
    public let created: UInt64
    /// µs since the epoch, when it expires if still pending.
    public let expires: UInt64
    /// The id on the wire: chosen by the inviter (mine for outgoing, equal to `id`).
    public let wireID: String
    /// Incoming only: my answer, sent (or about to be) and waiting for the inviter's verdict.
    public private(set) var answer: InvitationOutcome?

    public init(
        id: String, direction: InvitationDirection, peerID: String, peerDisplayName: String, applicationID: String,
        message: String, data: [UInt8], created: UInt64, expires: UInt64, wireID: String
    ) {
        self.id = id
        self.direction = direction
        self.peerID = peerID
        self.peerDisplayName = peerDisplayName
        self.applicationID = applicationID
        self.message = message
        self.data = data
        self.created = created
        self.expires = expires
        self.wireID = wireID
    }

    private var finalError: CollaborationError {
        CollaborationError(.invalidState, "The invitation \(id) is already \(state.rawValue)\(reason.isEmpty ? "" : " (\(reason))").")
    }

    private mutating func finish(_ state: InvitationState, _ reason: String) {
        self.state = state
        self.reason = reason
    }

    // MARK: Inviter

    /// The local user withdraws an outgoing invitation: final at once; the invitee is told.
    public mutating func cancel() throws(CollaborationError) -> PeerMessage {
        guard direction == .outgoing else {
            throw CollaborationError(.invalidState, "Only the inviter can cancel an invitation; decline \(id) instead.")
        }
        guard state == .pending else { throw finalError }
        finish(.cancelled, "")
        return .invitationCancel(invitationID: wireID)
    }

    /// The invitee's answer reached the inviter: if still pending, it becomes final and the
    /// returned verdict goes back; if not, the inviter already decided (and told the invitee).
    public mutating func receiveAnswer(_ outcome: InvitationOutcome, reason: String) -> PeerMessage? {
        guard direction == .outgoing, state == .pending else { return nil }
        finish(InvitationState(outcome), reason)
        return .invitationResponse(InvitationResponse(invitationID: wireID, outcome: outcome, reason: reason))
    }

    // MARK: Invitee

    /// The local user answers (or the invitee's timer does): reserves the answer so that a
    /// second one is refused. The owner sends ``answerMessage(reason:)`` and waits for the verdict.
    public mutating func beginAnswer(_ outcome: InvitationOutcome) throws(CollaborationError) {
        guard direction == .incoming else {
            throw CollaborationError(.invalidState, "Only the invitee can accept or decline an invitation; cancel \(id) instead.")
        }
        guard state == .pending else { throw finalError }
        guard answer == nil else {
            throw CollaborationError(.invalidState, "The invitation \(id) was already answered; the inviter's confirmation is on its way.")
        }
        answer = outcome
    }

    /// The answer reserved by ``beginAnswer(_:)``, on the wire.
    public func answerMessage(reason: String = "") -> PeerMessage? {
        guard let answer else { return nil }
        return .invitationResponse(InvitationResponse(invitationID: wireID, outcome: answer, reason: reason))
    }

    /// The inviter's verdict reached the invitee: final now. Returns whether anything changed.
    public mutating func receiveVerdict(_ verdict: InvitationState, reason: String) -> Bool {
        guard direction == .incoming, state == .pending, verdict.isFinal else { return false }
        finish(verdict, reason)
        return true
    }

    // MARK: Either side

    /// What the timer at ``expires`` (or after it) means.
    public enum TimerStep: Equatable, Sendable {
        /// Nothing: already final.
        case none
        /// Final now (the inviter expired it, or the invitee gave up waiting for a verdict);
        /// send the message if there is one.
        case finished(PeerMessage?)
        /// The invitee answered `expired` and waits for the verdict a little longer.
        case answered(PeerMessage)
    }

    /// The timer fired: the inviter expires a pending invitation; the invitee answers
    /// `expired` (the inviter decides), or, when even its answer went unconfirmed, fails it.
    public mutating func timerFired() -> TimerStep {
        guard state == .pending else { return .none }
        switch direction {
        case .outgoing:
            finish(.expired, "")
            return .finished(.invitationResponse(InvitationResponse(invitationID: wireID, outcome: .expired)))
        case .incoming:
            if answer == nil {
                answer = .expired
                return .answered(.invitationResponse(InvitationResponse(invitationID: wireID, outcome: .expired)))
            }
            finish(.failed, "the inviter did not confirm the answer")
            return .finished(nil)
        }
    }

    /// The link to the peer closed while the invitation was pending: it failed, on both sides.
    public mutating func linkLost() -> Bool {
        guard state == .pending else { return false }
        finish(.failed, "the peer left before the invitation was answered")
        return true
    }

    /// Failed for a local reason (the daemon could not act on it).
    public mutating func fail(_ why: String) -> Bool {
        guard state == .pending else { return false }
        finish(.failed, why)
        return true
    }
}

extension Invitation {
    /// Changes the reserved answer before it is sent (an Accept whose launch failed).
    mutating func reviseAnswer(_ outcome: InvitationOutcome) {
        guard state == .pending, answer != nil else { return }
        answer = outcome
    }
}
