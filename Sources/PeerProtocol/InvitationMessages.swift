import NIOCore

/// Invites the receiving peer to collaborate in an application.
public struct InvitationOffer: Hashable, Sendable {
    /// Chosen by the inviter, unique among its invitations: `[A-Za-z0-9_-]`, 1–64 bytes.
    public var invitationID: String
    /// The reverse-DNS id of the application to collaborate in.
    public var applicationID: String
    /// Words for the invitee, UTF-8, at most 1,024 bytes.
    public var message: String
    /// Opaque data for the application, at most 64 KiB.
    public var data: ByteBuffer
    /// Seconds, from receipt, after which the invitation expires: 1–3,600. Relative, so that
    /// the peers' clocks need not agree.
    public var timeoutSeconds: UInt32

    /// Makes an invitation.
    public init(invitationID: String, applicationID: String, message: String, data: ByteBuffer, timeoutSeconds: UInt32) {
        self.invitationID = invitationID
        self.applicationID = applicationID
        self.message = message
        self.data = data
        self.timeoutSeconds = timeoutSeconds
    }
}

/// How an invitee ended an invitation.
public enum InvitationOutcome: UInt8, CaseIterable, Hashable, Sendable {
    /// The invitee accepted.
    case accepted = 0
    /// The invitee declined.
    case declined = 1
    /// It timed out on the invitee's side before an answer.
    case expired = 2
    /// It could not be delivered or acted on: unknown application, policy, launch failure.
    case failed = 3
}

/// An answer about an ``InvitationOffer``: from the invitee, its answer; from the inviter, the
/// final outcome it decided (docs/protocol.md, "Invitations").
public struct InvitationResponse: Hashable, Sendable {
    /// The invitation answered.
    public var invitationID: String
    /// How it ended.
    public var outcome: InvitationOutcome
    /// Why, in words for the other user (mostly for `failed`); "" when there is nothing to
    /// say. Travels only when not empty, so a response without one has the original layout.
    public var reason: String

    /// Makes a response.
    public init(invitationID: String, outcome: InvitationOutcome, reason: String = "") {
        self.invitationID = invitationID
        self.outcome = outcome
        self.reason = reason
    }
}

extension InvitationOffer {
    /// Checks an application id as the wire does (reverse-DNS, ≤ 255 bytes), so a D-Bus caller
    /// gets the same verdict a peer would give.
    public static func checkApplicationID(_ id: String) throws(PeerProtocolError) {
        try WireRules.checkApplicationID(id)
    }

    /// Checks an invitation id as the wire does (`[A-Za-z0-9_-]`, 1–64 bytes).
    public static func checkInvitationID(_ id: String) throws(PeerProtocolError) {
        try WireRules.checkInvitationID(id)
    }
}

extension InvitationOffer: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let invitationID = try reader.readString("invitation id", maximumBytes: PeerProtocolLimits.invitationIDMaximumBytes)
        try WireRules.checkInvitationID(invitationID)
        let applicationID = try reader.readString("application id", maximumBytes: PeerProtocolLimits.applicationIDMaximumBytes)
        try WireRules.checkApplicationID(applicationID)
        let message = try reader.readString("invitation message", maximumBytes: PeerProtocolLimits.invitationMessageMaximumBytes)
        let data = try reader.readBytes("invitation data", maximumBytes: PeerProtocolLimits.invitationDataMaximumBytes)
        let timeout = try reader.readUInt32("invitation timeout")
        guard PeerProtocolLimits.invitationTimeoutSeconds.contains(timeout) else {
            throw .malformed("invitation timeout", "\(timeout) s is outside 1–3600 s")
        }
        self.init(invitationID: invitationID, applicationID: applicationID, message: message, data: data, timeoutSeconds: timeout)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkInvitationID(invitationID)
        try WireRules.checkApplicationID(applicationID)
        try WireRules.checkUTF8Length(message, field: "invitation message", maximum: PeerProtocolLimits.invitationMessageMaximumBytes)
        guard data.readableBytes <= PeerProtocolLimits.invitationDataMaximumBytes else {
            throw .limitExceeded("invitation data length in bytes", actual: data.readableBytes, limit: PeerProtocolLimits.invitationDataMaximumBytes)
        }
        guard PeerProtocolLimits.invitationTimeoutSeconds.contains(timeoutSeconds) else {
            throw .malformed("invitation timeout", "\(timeoutSeconds) s is outside 1–3600 s")
        }
        buffer.writeWireString(invitationID)
        buffer.writeWireString(applicationID)
        buffer.writeWireString(message)
        buffer.writeWireBytes(data)
        buffer.writeInteger(timeoutSeconds, endianness: .big)
    }
}

extension InvitationResponse: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let invitationID = try reader.readString("invitation id", maximumBytes: PeerProtocolLimits.invitationIDMaximumBytes)
        try WireRules.checkInvitationID(invitationID)
        let raw = try reader.readUInt8("invitation outcome")
        guard let outcome = InvitationOutcome(rawValue: raw) else {
            throw .malformed("invitation outcome", "\(raw) is not a known outcome")
        }
        var reason = ""
        if reader.hasMore {
            // Less than a length field is not a reason: plain trailing bytes.
            if reader.remainingBytes < 2 { try reader.finish("invitationResponse message") }
            reason = try reader.readString("invitation reason", maximumBytes: PeerProtocolLimits.invitationReasonMaximumBytes)
            guard !reason.isEmpty else { throw .malformed("invitation reason", "it is present but empty") }
            try WireRules.checkNoControlCharacters(reason, field: "invitation reason")
        }
        self.init(invitationID: invitationID, outcome: outcome, reason: reason)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkInvitationID(invitationID)
        try WireRules.checkUTF8Length(reason, field: "invitation reason", maximum: PeerProtocolLimits.invitationReasonMaximumBytes)
        try WireRules.checkNoControlCharacters(reason, field: "invitation reason")
        buffer.writeWireString(invitationID)
        buffer.writeInteger(outcome.rawValue)
        if !reason.isEmpty { buffer.writeWireString(reason) }
    }
}
