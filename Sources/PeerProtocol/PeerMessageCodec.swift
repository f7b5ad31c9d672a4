import NIOCore

/// Turns messages into frames and frames into messages; pure functions, no I/O, no state.
///
/// Encoding applies the same limits as decoding, so a message that encodes is one every
/// v1 peer accepts.
public enum PeerMessageCodec {
    /// Writes `message` as a whole frame (header and body) to `buffer`; on error `buffer` is unchanged.
    public static func encode(_ message: PeerMessage, into buffer: inout ByteBuffer) throws(PeerProtocolError) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0), endianness: .big)  // length, filled in below
        buffer.writeInteger(message.type.rawValue, endianness: .big)
        buffer.writeInteger(PeerFrame.Flags().rawValue, endianness: .big)
        do {
            try writeBody(of: message, to: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let length = buffer.writerIndex - start - 4
        buffer.setInteger(UInt32(length), at: start, endianness: .big)
    }

    /// Writes only the body of `message` (no frame header) to `buffer`.
    public static func writeBody(of message: PeerMessage, to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        switch message {
        case .hello(let hello): try hello.write(to: &buffer)
        case .goodbye(let goodbye): try goodbye.write(to: &buffer)
        case .ping(let nonce), .pong(let nonce): buffer.writeInteger(nonce, endianness: .big)
        case .listeningPort(let port):
            guard port != 0 else { throw .malformed("listening port", "0 is not a port") }
            buffer.writeInteger(port, endianness: .big)
        case .profile(let profile): try profile.write(to: &buffer)
        case .profileRequest: break
        case .presenceUpdate(let presence): try presence.write(to: &buffer)
        case .subscription(let subscribed): buffer.writeInteger(UInt8(subscribed ? 1 : 0))
        case .objectRequest(let request): try request.write(to: &buffer)
        case .objectResponse(let response): try response.write(to: &buffer)
        case .objectChanged(let change): try change.write(to: &buffer)
        case .invitation(let offer): try offer.write(to: &buffer)
        case .invitationResponse(let response): try response.write(to: &buffer)
        case .invitationCancel(let id):
            try WireRules.checkInvitationID(id)
            buffer.writeWireString(id)
        case .channelOpen(let open): try open.write(to: &buffer)
        case .channelData(let data): try data.write(to: &buffer)
        case .channelWindow(let channelID, let increment):
            guard increment > 0, increment <= PeerProtocolLimits.channelWindowMaximumBytes else {
                throw .malformed("channel window update", "an increment of \(increment) is outside 1–\(PeerProtocolLimits.channelWindowMaximumBytes)")
            }
            buffer.writeInteger(channelID, endianness: .big)
            buffer.writeInteger(increment, endianness: .big)
        case .channelEOF(let channelID): buffer.writeInteger(channelID, endianness: .big)
        case .channelClose(let close): try close.write(to: &buffer)
        }
    }

    /// Decodes one frame: a known type must decode exactly, with no bytes left over; an
    /// unknown type is returned as ``PeerInboundMessage/unknown(type:flags:)`` unless it is
    /// marked ``PeerFrame/Flags/mustUnderstand``, which is an error.
    public static func decode(_ frame: PeerFrame) throws(PeerProtocolError) -> PeerInboundMessage {
        var reader = WireReader(body: frame.body)
        let message: PeerMessage
        switch frame.type {
        case .hello: message = .hello(try PeerHello(reading: &reader))
        case .goodbye: message = .goodbye(try PeerGoodbye(reading: &reader))
        case .ping: message = .ping(nonce: try reader.readUInt64("ping nonce"))
        case .pong: message = .pong(nonce: try reader.readUInt64("pong nonce"))
        case .listeningPort:
            let port = try reader.readUInt16("listening port")
            guard port != 0 else { throw .malformed("listening port", "0 is not a port") }
            message = .listeningPort(port)
        case .profile: message = .profile(try PeerProfile(reading: &reader))
        case .profileRequest: message = .profileRequest
        case .presenceUpdate: message = .presenceUpdate(try PeerPresence(reading: &reader))
        case .subscription:
            let flag = try reader.readUInt8("subscribed")
            guard flag <= 1 else { throw .malformed("subscribed", "\(flag) is neither 0 nor 1") }
            message = .subscription(subscribed: flag == 1)
        case .objectRequest: message = .objectRequest(try ObjectRequest(reading: &reader))
        case .objectResponse: message = .objectResponse(try ObjectResponse(reading: &reader))
        case .objectChanged: message = .objectChanged(try ObjectChange(reading: &reader))
        case .invitation: message = .invitation(try InvitationOffer(reading: &reader))
        case .invitationResponse: message = .invitationResponse(try InvitationResponse(reading: &reader))
        case .invitationCancel:
            let id = try reader.readString("invitation id", maximumBytes: PeerProtocolLimits.invitationIDMaximumBytes)
            try WireRules.checkInvitationID(id)
            message = .invitationCancel(invitationID: id)
        case .channelOpen: message = .channelOpen(try ChannelOpen(reading: &reader))
        case .channelData: message = .channelData(try ChannelData(reading: &reader))
        case .channelWindow:
            let channelID = try reader.readUInt32("channel id")
            let increment = try reader.readUInt32("channel window increment")
            guard increment > 0, increment <= PeerProtocolLimits.channelWindowMaximumBytes else {
                throw .malformed("channel window update", "an increment of \(increment) is outside 1–\(PeerProtocolLimits.channelWindowMaximumBytes)")
            }
            message = .channelWindow(channelID: channelID, increment: increment)
        case .channelEOF: message = .channelEOF(channelID: try reader.readUInt32("channel id"))
        case .channelClose: message = .channelClose(try ChannelClose(reading: &reader))
        default:
            if frame.flags.contains(.mustUnderstand) {
                throw PeerProtocolError(
                    code: .unexpectedMessage,
                    message: "\(frame.type) is marked must-understand but this peer does not know it; update peercollab"
                )
            }
            return .unknown(type: frame.type, flags: frame.flags)
        }
        try reader.finish("\(frame.type) message")
        return .message(message)
    }

    /// Decodes every whole frame at the front of `buffer`, leaving a partial frame in place.
    public static func decodeFrames(
        from buffer: inout ByteBuffer,
        maximumFrameLength: Int = PeerProtocolLimits.defaultMaximumFrameLength
    ) throws(PeerProtocolError) -> [PeerInboundMessage] {
        var messages: [PeerInboundMessage] = []
        while let frame = try PeerFrame.read(from: &buffer, maximumLength: maximumFrameLength) {
            messages.append(try decode(frame))
        }
        return messages
    }
}
