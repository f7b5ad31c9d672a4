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

/// The invitee's final answer to an ``InvitationOffer``.
public struct InvitationResponse: Hashable, Sendable {
    /// The invitation answered.
    public var invitationID: String
    /// How it ended.
    public var outcome: InvitationOutcome

    /// Makes a response.
    public init(invitationID: String, outcome: InvitationOutcome) {
        self.invitationID = invitationID
        self.outcome = outcome
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
        self.init(invitationID: invitationID, outcome: outcome)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkInvitationID(invitationID)
        buffer.writeWireString(invitationID)
        buffer.writeInteger(outcome.rawValue)
    }
}
