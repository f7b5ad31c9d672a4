import NIOCore
import PeerProtocol

/// One realistic instance of every v1 message, for round trips and seeds.
enum SampleMessages {
    static let hello = PeerHello(versions: 1...1, capabilities: [.presence, .objects, .invitations], softwareVersion: "peercollab 0.1.0")

    static let profile = PeerProfile(
        displayName: "Zoë Ørsted 🦊",
        presence: PeerPresence(status: .busy, message: "in a meeting until 15:00"),
        applicationIDs: ["org.example.Whiteboard", "net.peercollab.Chat-2"],
        objects: [
            PublishedObject(id: "avatar.png", revision: 3, size: 4096),
            PublishedObject(id: "board_summary-1", revision: 0, size: 0),
        ]
    )

    static let all: [PeerMessage] = [
        .hello(hello),
        .hello(PeerHello(versions: 1...7, capabilities: [], softwareVersion: "")),
        .goodbye(PeerGoodbye(reason: .signedOut, message: "bye")),
        .goodbye(PeerGoodbye(reason: GoodbyeReason(rawValue: 999))),
        .ping(nonce: 0),
        .pong(nonce: .max),
        .listeningPort(46773),
        .listeningPort(1),
        .profile(profile),
        .profile(PeerProfile(displayName: "A", presence: PeerPresence(status: .offline))),
        .profileRequest,
        .presenceUpdate(PeerPresence(status: .onThePhone, message: "☎️")),
        .objectRequest(ObjectRequest(requestID: 7, objectID: "avatar.png")),
        .objectResponse(ObjectResponse(requestID: 7, result: .found(revision: 3, data: ByteBuffer(repeating: 0xAB, count: 4096)))),
        .objectResponse(ObjectResponse(requestID: 8, result: .found(revision: 0, data: ByteBuffer()))),
        .objectResponse(ObjectResponse(requestID: 9, result: .notFound)),
        .objectResponse(ObjectResponse(requestID: 10, result: .notAllowed)),
        .objectChanged(ObjectChange(objectID: "avatar.png", kind: .updated(revision: 4, size: 65536))),
        .objectChanged(ObjectChange(objectID: "avatar.png", kind: .deleted)),
        .invitation(
            InvitationOffer(
                invitationID: "inv_0123-abc",
                applicationID: "org.example.Whiteboard",
                message: "Draw with me?",
                data: ByteBuffer(bytes: [0, 1, 2, 255]),
                timeoutSeconds: 300
            )
        ),
        .invitationResponse(InvitationResponse(invitationID: "inv_0123-abc", outcome: .accepted)),
        .invitationResponse(InvitationResponse(invitationID: "inv_0123-abc", outcome: .failed)),
        .invitationCancel(invitationID: "inv_0123-abc"),
        .invitationResponse(
            InvitationResponse(invitationID: "inv_0123-abc", outcome: .failed, reason: "org.example.Whiteboard is not registered here")),
        .subscription(subscribed: true),
        .subscription(subscribed: false),
        .channelOpen(ChannelOpen(channelID: 1, invitationID: "inv_0123-abc", side: .senderInvited, name: "chat", window: 256 * 1024)),
        .channelOpen(ChannelOpen(channelID: .max, invitationID: "x", side: .receiverInvited, name: "Zoë's board ✏️", window: 16 << 20)),
        .channelData(ChannelData(channelID: 1, bytes: ByteBuffer(bytes: Array("hello".utf8)))),
        .channelData(ChannelData(channelID: 2, bytes: ByteBuffer(repeating: 0x5A, count: 16 * 1024))),
        .channelWindow(channelID: 1, increment: 128 * 1024),
        .channelEOF(channelID: 1),
        .channelClose(ChannelClose(channelID: 1, reason: .closed)),
        .channelClose(ChannelClose(channelID: 3, reason: .reset, message: "the application closed its socket")),
    ]

    static func frameBytes(_ message: PeerMessage) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try PeerMessageCodec.encode(message, into: &buffer)
        return buffer
    }

    /// A frame with a hand-written body, for hostile inputs.
    static func frame(type: PeerMessageType, flags: UInt16 = 0, body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(4 + body.count))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags)
        buffer.writeBytes(body)
        return buffer
    }
}

/// Builds message bodies field by field, so hostile tests read like the wire format.
struct BodyBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) { bytes += (0..<4).reversed().map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }
    mutating func u64(_ value: UInt64) { bytes += (0..<8).reversed().map { UInt8((value >> (8 * UInt64($0))) & 0xFF) } }
    mutating func string(_ value: String) { rawString(Array(value.utf8)) }
    mutating func rawString(_ value: [UInt8]) {
        u16(UInt16(value.count))
        bytes += value
    }
}
