import NIOCore

/// A peer's availability, as the People Near Me statuses (docs/dbus-api.md); one byte on the wire.
public enum PresenceStatus: UInt8, CaseIterable, Hashable, Sendable {
    /// Not available (also what a peer that signed out shows).
    case offline = 0
    /// Out to lunch.
    case outToLunch = 1
    /// Away from the computer.
    case away = 2
    /// Back in a moment.
    case beRightBack = 3
    /// Present but inactive.
    case idle = 4
    /// Present, do not disturb.
    case busy = 5
    /// On a call.
    case onThePhone = 6
    /// Available.
    case online = 7
}

/// A status and the free text beside it ("in a meeting until 3").
public struct PeerPresence: Hashable, Sendable {
    /// The availability.
    public var status: PresenceStatus
    /// Free text, valid UTF-8, at most 1,024 bytes; may be empty.
    public var message: String

    /// Makes a presence.
    public init(status: PresenceStatus, message: String = "") {
        self.status = status
        self.message = message
    }
}

extension PeerPresence: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let raw = try reader.readUInt8("presence status")
        // Unknown statuses are an error, not a guess: a newer peer maps new statuses to v1 ones
        // when it negotiated v1.
        guard let status = PresenceStatus(rawValue: raw) else {
            throw .malformed("presence status", "\(raw) is not a known status")
        }
        let message = try reader.readString("presence message", maximumBytes: PeerProtocolLimits.presenceMessageMaximumBytes)
        self.init(status: status, message: message)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkUTF8Length(message, field: "presence message", maximum: PeerProtocolLimits.presenceMessageMaximumBytes)
        buffer.writeInteger(status.rawValue)
        buffer.writeWireString(message)
    }
}
