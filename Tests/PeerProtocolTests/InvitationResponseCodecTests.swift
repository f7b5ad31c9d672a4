import NIOCore
import PeerProtocol
import Testing

/// The optional reason of an invitation response: absent, it is the original layout; present,
/// it is a non-empty string without control characters, ≤ 256 bytes.
@Suite("Invitation response reason")
struct InvitationResponseCodecTests {
    private func decode(_ body: BodyBuilder) throws -> [PeerInboundMessage] {
        var bytes = SampleMessages.frame(type: .invitationResponse, body: body.bytes)
        return try PeerMessageCodec.decodeFrames(from: &bytes, maximumFrameLength: PeerProtocolLimits.defaultMaximumFrameLength)
    }

    @Test func aResponseWithoutReasonKeepsTheOriginalLayout() throws {
        var body = BodyBuilder()
        body.string("inv1")
        body.u8(InvitationOutcome.declined.rawValue)
        let encoded = try SampleMessages.frameBytes(.invitationResponse(InvitationResponse(invitationID: "inv1", outcome: .declined)))
        #expect(Array(encoded.readableBytesView.dropFirst(8)) == body.bytes)
        #expect(try decode(body) == [.message(.invitationResponse(InvitationResponse(invitationID: "inv1", outcome: .declined)))])
    }

    @Test func aReasonRoundTrips() throws {
        let response = InvitationResponse(invitationID: "inv1", outcome: .failed, reason: String(repeating: "é", count: 128))
        var bytes = try SampleMessages.frameBytes(.invitationResponse(response))
        let decoded = try PeerMessageCodec.decodeFrames(from: &bytes, maximumFrameLength: PeerProtocolLimits.defaultMaximumFrameLength)
        #expect(decoded == [.message(.invitationResponse(response))])
    }

    @Test("hostile reasons are refused", arguments: [
        [UInt8](),  // present but empty
        Array("bad\u{7}bell".utf8),
        [0xFF, 0xFE],  // not UTF-8
        Array(repeating: UInt8(ascii: "x"), count: 257),
    ])
    func hostileReason(reason: [UInt8]) {
        var body = BodyBuilder()
        body.string("inv1")
        body.u8(3)
        body.rawString(reason)
        #expect(throws: PeerProtocolError.self) { try decode(body) }
    }

    @Test func aReasonFollowedByMoreBytesIsMalformed() {
        var body = BodyBuilder()
        body.string("inv1")
        body.u8(3)
        body.string("why")
        body.u8(0)
        #expect(throws: PeerProtocolError.self) { try decode(body) }
    }

    @Test func aLengthPastTheEndIsTruncated() {
        var body = BodyBuilder()
        body.string("inv1")
        body.u8(3)
        body.u16(40)
        body.bytes += Array("short".utf8)
        #expect(throws: PeerProtocolError.self) { try decode(body) }
    }

    @Test func theSenderRefusesWhatAReceiverWouldRefuse() {
        let tooLong = InvitationResponse(invitationID: "inv1", outcome: .failed, reason: String(repeating: "x", count: 257))
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.invitationResponse(tooLong)) }
        let control = InvitationResponse(invitationID: "inv1", outcome: .failed, reason: "a\nb")
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.invitationResponse(control)) }
    }

    @Test func applicationIDsAreCheckedAsOnTheWire() {
        #expect(throws: Never.self) { try InvitationOffer.checkApplicationID("org.example.App") }
        for bad in ["", "org", "org..x", "org.1x", "org.ex ample", String(repeating: "a.", count: 128) + "b"] {
            #expect(throws: PeerProtocolError.self) { try InvitationOffer.checkApplicationID(bad) }
        }
    }
}
