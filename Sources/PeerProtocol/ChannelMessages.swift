import NIOCore

/// Which side of a link sent the invitation a channel belongs to, as the sender of a
/// channel message sees it: invitation ids are chosen by the inviter, so the same id can
/// name one invitation each way between the same two peers.
public enum ChannelInvitationSide: UInt8, Hashable, Sendable {
    /// The sender of the message is the invitation's inviter.
    case senderInvited = 0
    /// The receiver of the message is the inviter.
    case receiverInvited = 1

    /// The same invitation as the other end of the link names it.
    public var flipped: Self { self == .senderInvited ? .receiverInvited : .senderInvited }
}

/// Opens this side's end of a named channel of an accepted invitation (capability
/// `channels`). Each side sends one when its application opens the name; the two opens of
/// the same invitation and name make the channel.
public struct ChannelOpen: Hashable, Sendable {
    /// The sender's own id for the channel, larger than every id it used before on this link.
    public var channelID: UInt32
    /// The invitation's wire id (the inviter's choice).
    public var invitationID: String
    /// Whose invitation it is, seen from the sender.
    public var side: ChannelInvitationSide
    /// 1–128 bytes of UTF-8, no control characters.
    public var name: String
    /// The bytes the receiver may send before the first window update.
    public var window: UInt32

    public init(channelID: UInt32, invitationID: String, side: ChannelInvitationSide, name: String, window: UInt32) {
        self.channelID = channelID
        self.invitationID = invitationID
        self.side = side
        self.name = name
        self.window = window
    }
}

/// Bytes of a channel, at most ``PeerProtocolLimits/channelChunkMaximumBytes``.
public struct ChannelData: Hashable, Sendable {
    /// The sender's id of the channel.
    public var channelID: UInt32
    public var bytes: ByteBuffer

    public init(channelID: UInt32, bytes: ByteBuffer) {
        self.channelID = channelID
        self.bytes = bytes
    }
}

/// Why a channel ended, on the wire.
public enum ChannelCloseReason: UInt8, Hashable, Sendable {
    /// Both applications finished writing and everything was delivered.
    case closed = 0
    /// An application or its daemon broke the stream off; what was in flight is dropped.
    case reset = 1
    /// The invitation is gone on the sender's side.
    case invitationGone = 2
    /// The sender's daemon is stopping.
    case stopping = 3
}

/// Ends a channel (either side, at any time, waiting or open).
public struct ChannelClose: Hashable, Sendable {
    /// The sender's id of the channel.
    public var channelID: UInt32
    public var reason: ChannelCloseReason
    /// Words for logs, ≤ 256 bytes of UTF-8.
    public var message: String

    public init(channelID: UInt32, reason: ChannelCloseReason, message: String = "") {
        self.channelID = channelID
        self.reason = reason
        self.message = message
    }
}

extension ChannelOpen {
    /// Throws unless `name` is a valid channel name (1–128 bytes of UTF-8, no control characters).
    public static func checkName(_ name: String) throws(PeerProtocolError) {
        try WireRules.checkChannelName(name)
    }
}

extension ChannelOpen: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        channelID = try reader.readUInt32("channel id")
        invitationID = try reader.readString("invitation id", maximumBytes: PeerProtocolLimits.invitationIDMaximumBytes)
        try WireRules.checkInvitationID(invitationID)
        let side = try reader.readUInt8("invitation side")
        guard let known = ChannelInvitationSide(rawValue: side) else { throw .malformed("invitation side", "\(side) is neither 0 nor 1") }
        self.side = known
        name = try reader.readString("channel name", maximumBytes: PeerProtocolLimits.channelNameMaximumBytes)
        try WireRules.checkChannelName(name)
        window = try reader.readUInt32("channel window")
        try WireRules.checkChannelWindow(window)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkInvitationID(invitationID)
        try WireRules.checkChannelName(name)
        try WireRules.checkChannelWindow(window)
        buffer.writeInteger(channelID, endianness: .big)
        buffer.writeWireString(invitationID)
        buffer.writeInteger(side.rawValue)
        buffer.writeWireString(name)
        buffer.writeInteger(window, endianness: .big)
    }
}

extension ChannelData: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        channelID = try reader.readUInt32("channel id")
        bytes = try reader.readBytes("channel data", maximumBytes: PeerProtocolLimits.channelChunkMaximumBytes)
        guard bytes.readableBytes > 0 else { throw .malformed("channel data", "a chunk carries at least one byte") }
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        guard bytes.readableBytes > 0, bytes.readableBytes <= PeerProtocolLimits.channelChunkMaximumBytes else {
            throw .limitExceeded("channel chunk length in bytes", actual: bytes.readableBytes, limit: PeerProtocolLimits.channelChunkMaximumBytes)
        }
        buffer.writeInteger(channelID, endianness: .big)
        buffer.writeWireBytes(bytes)
    }
}

extension ChannelClose: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        channelID = try reader.readUInt32("channel id")
        let code = try reader.readUInt8("channel close reason")
        // An unknown reason from a newer peer is a reset: the stream ended abnormally.
        reason = ChannelCloseReason(rawValue: code) ?? .reset
        message = try reader.readString("channel close message", maximumBytes: PeerProtocolLimits.goodbyeMessageMaximumBytes)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkUTF8Length(message, field: "channel close message", maximum: PeerProtocolLimits.goodbyeMessageMaximumBytes)
        buffer.writeInteger(channelID, endianness: .big)
        buffer.writeInteger(reason.rawValue)
        buffer.writeWireString(message)
    }
}
