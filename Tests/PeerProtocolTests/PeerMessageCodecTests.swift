import NIOCore
import PeerProtocol
import Testing

@Suite("Message codec")
struct PeerMessageCodecTests {
    private func decode(type: PeerMessageType, _ body: BodyBuilder) throws -> PeerInboundMessage {
        try PeerMessageCodec.decode(PeerFrame(type: type, body: ByteBuffer(bytes: body.bytes)))
    }

    private func expectError(_ code: PeerProtocolError.Code, type: PeerMessageType, _ body: BodyBuilder, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            sourceLocation: sourceLocation,
            performing: { try decode(type: type, body) },
            throws: { ($0 as? PeerProtocolError)?.code == code }
        )
    }

    private func validProfileBody(name: [UInt8] = Array("Ann".utf8)) -> BodyBuilder {
        var body = BodyBuilder()
        body.rawString(name)
        body.u8(7)
        body.string("")
        body.u16(0)
        body.u16(0)
        return body
    }

    @Test("every message survives a round trip", arguments: SampleMessages.all)
    func roundTrip(message: PeerMessage) throws {
        var bytes = try SampleMessages.frameBytes(message)
        let frame = try #require(try PeerFrame.read(from: &bytes, maximumLength: PeerProtocolLimits.defaultMaximumFrameLength))
        #expect(frame.type == message.type)
        #expect(try PeerMessageCodec.decode(frame) == .message(message))
        #expect(bytes.readableBytes == 0)
    }

    @Test("messages at every limit fit the minimum maximum frame length")
    func largestMessagesFit() throws {
        let longID = String(repeating: "a", count: 128)
        let profile = PeerProfile(
            displayName: String(repeating: "🦊", count: 128),
            presence: PeerPresence(status: .online, message: String(repeating: "x", count: 1024)),
            applicationIDs: (0..<64).map { "org.example." + String(repeating: "b", count: 240) + String(format2($0)) },
            objects: (0..<128).map { PublishedObject(id: String(longID.dropLast(4)) + format3($0) + "x", revision: .max, size: 65536) }
        )
        let offer = InvitationOffer(
            invitationID: String(repeating: "i", count: 64),
            applicationID: "org." + String(repeating: "c", count: 251),
            message: String(repeating: "m", count: 1024),
            data: ByteBuffer(repeating: 1, count: 65536),
            timeoutSeconds: 3600
        )
        let response = ObjectResponse(requestID: 1, result: .found(revision: 1, data: ByteBuffer(repeating: 2, count: 65536)))
        for message in [PeerMessage.profile(profile), .invitation(offer), .objectResponse(response)] {
            var bytes = try SampleMessages.frameBytes(message)
            #expect(bytes.readableBytes - 4 <= PeerProtocolLimits.minimumMaximumFrameLength)
            let decoded = try PeerMessageCodec.decodeFrames(from: &bytes, maximumFrameLength: PeerProtocolLimits.minimumMaximumFrameLength)
            #expect(decoded == [.message(message)])
        }
    }

    private func format2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private func format3(_ value: Int) -> String { String(repeating: "0", count: 3 - "\(value)".count) + "\(value)" }

    // MARK: - Hostile inputs

    @Test("every known message with a byte cut off is truncated, not a crash")
    func truncatedBodies() throws {
        for message in SampleMessages.all where message != .profileRequest {
            var body = ByteBuffer()
            try PeerMessageCodec.writeBody(of: message, to: &body)
            let cut = body.getSlice(at: 0, length: body.readableBytes - 1)!
            #expect(performing: { try PeerMessageCodec.decode(PeerFrame(type: message.type, body: cut)) }, throws: { error in
                (error as? PeerProtocolError)?.code == .truncated
            })
        }
    }

    @Test("every known message with a trailing byte is malformed")
    func trailingGarbage() throws {
        for message in SampleMessages.all {
            var body = ByteBuffer()
            try PeerMessageCodec.writeBody(of: message, to: &body)
            body.writeInteger(UInt8(0))
            #expect(performing: { try PeerMessageCodec.decode(PeerFrame(type: message.type, body: body)) }, throws: { error in
                (error as? PeerProtocolError)?.code == .malformed
            })
        }
    }

    @Test("a string length past the end of the frame is truncated")
    func stringLengthPastEnd() {
        var body = BodyBuilder()
        body.u16(200)
        body.bytes += Array("Ann".utf8)
        expectError(.truncated, type: .profile, body)
    }

    @Test("a byte-blob length past the end is truncated; past the limit is limitExceeded")
    func blobLengths() {
        var body = BodyBuilder()
        body.u32(7)
        body.u8(0)
        body.u64(1)
        body.u32(100)
        body.bytes += [1, 2, 3]
        expectError(.truncated, type: .objectResponse, body)

        var huge = BodyBuilder()
        huge.u32(7)
        huge.u8(0)
        huge.u64(1)
        huge.u32(.max)
        expectError(.limitExceeded, type: .objectResponse, huge)
    }

    @Test("huge counts fail before any element is read")
    func hugeCounts() {
        var hello = BodyBuilder()
        hello.u16(1)
        hello.u16(1)
        hello.u16(.max)
        expectError(.limitExceeded, type: .hello, hello)

        var apps = BodyBuilder()
        apps.string("Ann")
        apps.u8(7)
        apps.string("")
        apps.u16(65)
        expectError(.limitExceeded, type: .profile, apps)

        var objects = BodyBuilder()
        objects.string("Ann")
        objects.u8(7)
        objects.string("")
        objects.u16(0)
        objects.u16(129)
        expectError(.limitExceeded, type: .profile, objects)
    }

    @Test(
        "invalid UTF-8 is rejected",
        arguments: [
            [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x41, 0x80],
        ] as [[UInt8]]
    )
    func invalidUTF8(bytes: [UInt8]) {
        expectError(.invalidUTF8, type: .profile, validProfileBody(name: bytes))
        var presence = BodyBuilder()
        presence.u8(1)
        presence.rawString(bytes)
        expectError(.invalidUTF8, type: .presenceUpdate, presence)
    }

    @Test("display names with control characters are rejected", arguments: ["A\u{0}B", "tab\there", "new\nline", "\u{7F}", "esc\u{1B}[31m", "c1\u{85}"])
    func controlCharacters(name: String) {
        expectError(.malformed, type: .profile, validProfileBody(name: Array(name.utf8)))
        #expect(throws: PeerProtocolError.self) {
            try SampleMessages.frameBytes(.profile(PeerProfile(displayName: name, presence: PeerPresence(status: .online))))
        }
    }

    @Test("display names must be 1–128 characters")
    func displayNameLength() throws {
        expectError(.malformed, type: .profile, validProfileBody(name: []))
        expectError(.limitExceeded, type: .profile, validProfileBody(name: Array(String(repeating: "é", count: 129).utf8)))
        let longest = String(repeating: "é", count: 128)
        #expect(throws: Never.self) { try decode(type: .profile, validProfileBody(name: Array(longest.utf8))) }
        expectError(.limitExceeded, type: .profile, validProfileBody(name: Array(repeating: 0x41, count: 600)))
    }

    @Test("unknown presence status, result and outcome tags are malformed")
    func unknownTags() {
        var presence = BodyBuilder()
        presence.u8(8)
        presence.string("")
        expectError(.malformed, type: .presenceUpdate, presence)

        var response = BodyBuilder()
        response.u32(1)
        response.u8(3)
        expectError(.malformed, type: .objectResponse, response)

        var change = BodyBuilder()
        change.string("a")
        change.u8(2)
        expectError(.malformed, type: .objectChanged, change)

        var outcome = BodyBuilder()
        outcome.string("inv")
        outcome.u8(4)
        expectError(.malformed, type: .invitationResponse, outcome)
    }

    @Test("hello versions must be a range from 1 up")
    func helloVersions() {
        for (low, high) in [(0, 1), (2, 1), (0, 0)] as [(UInt16, UInt16)] {
            var body = BodyBuilder()
            body.u16(low)
            body.u16(high)
            body.u16(0)
            body.string("x")
            expectError(.malformed, type: .hello, body)
        }
    }

    @Test("capabilities must be lowercase tokens and unique")
    func capabilities() {
        for names in [["Objects"], ["a b"], [""], ["objects", "objects"], [String(repeating: "a", count: 65)]] {
            var body = BodyBuilder()
            body.u16(1)
            body.u16(1)
            body.u16(UInt16(names.count))
            for name in names { body.string(name) }
            body.string("x")
            #expect("\(names)", performing: { try decode(type: .hello, body) }, throws: { $0 is PeerProtocolError })
        }
    }

    @Test(
        "application ids must be reverse-DNS",
        arguments: ["org", "org.", ".org.x", "org..x", "org.1x", "org.ex ample", "org.exämple", String(repeating: "a.", count: 128) + "b"]
    )
    func badApplicationIDs(id: String) {
        var body = BodyBuilder()
        body.string("Ann")
        body.u8(7)
        body.string("")
        body.u16(1)
        body.string(id)
        body.u16(0)
        #expect(performing: { try decode(type: .profile, body) }, throws: { $0 is PeerProtocolError })
        #expect(throws: PeerProtocolError.self) {
            try SampleMessages.frameBytes(.profile(PeerProfile(displayName: "A", presence: PeerPresence(status: .online), applicationIDs: [id])))
        }
    }

    @Test("object ids must be [A-Za-z0-9._-], 1–128 bytes", arguments: ["", "a/b", "a b", "../x", "é", String(repeating: "a", count: 129)])
    func badObjectIDs(id: String) {
        var body = BodyBuilder()
        body.u32(1)
        body.string(id)
        #expect(performing: { try decode(type: .objectRequest, body) }, throws: { $0 is PeerProtocolError })
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.objectRequest(ObjectRequest(requestID: 1, objectID: id))) }
    }

    @Test("duplicate application or object ids in a profile are malformed")
    func duplicates() {
        var apps = BodyBuilder()
        apps.string("Ann")
        apps.u8(7)
        apps.string("")
        apps.u16(2)
        apps.string("org.a.b")
        apps.string("org.a.b")
        apps.u16(0)
        expectError(.malformed, type: .profile, apps)

        var objects = BodyBuilder()
        objects.string("Ann")
        objects.u8(7)
        objects.string("")
        objects.u16(0)
        objects.u16(2)
        for _ in 0..<2 {
            objects.string("x")
            objects.u64(1)
            objects.u32(1)
        }
        expectError(.malformed, type: .profile, objects)
    }

    @Test("object sizes above 64 KiB are limitExceeded")
    func objectSize() {
        var body = BodyBuilder()
        body.string("x")
        body.u8(0)
        body.u64(1)
        body.u32(65537)
        expectError(.limitExceeded, type: .objectChanged, body)
    }

    @Test("invitation timeouts outside 1–3600 s are malformed", arguments: [0, 3601, .max] as [UInt32])
    func invitationTimeout(seconds: UInt32) {
        var body = BodyBuilder()
        body.string("inv")
        body.string("org.example.App")
        body.string("hi")
        body.u32(0)
        body.u32(seconds)
        expectError(.malformed, type: .invitation, body)
        let offer = InvitationOffer(invitationID: "inv", applicationID: "org.example.App", message: "", data: ByteBuffer(), timeoutSeconds: seconds)
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.invitation(offer)) }
    }

    @Test("invitation message and data limits hold on both sides")
    func invitationSizes() {
        let longMessage = InvitationOffer(invitationID: "i", applicationID: "org.e.A", message: String(repeating: "m", count: 1025), data: ByteBuffer(), timeoutSeconds: 1)
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.invitation(longMessage)) }
        let bigData = InvitationOffer(invitationID: "i", applicationID: "org.e.A", message: "", data: ByteBuffer(repeating: 0, count: 65537), timeoutSeconds: 1)
        #expect(throws: PeerProtocolError.self) { try SampleMessages.frameBytes(.invitation(bigData)) }
        var body = BodyBuilder()
        body.string("i")
        body.string("org.e.A")
        body.rawString(Array(repeating: 0x6D, count: 1025))
        expectError(.limitExceeded, type: .invitation, body)
    }

    @Test("a failed encode leaves the buffer as it was")
    func failedEncodeWritesNothing() throws {
        var buffer = try SampleMessages.frameBytes(.ping(nonce: 1))
        let before = buffer
        #expect(throws: PeerProtocolError.self) {
            try PeerMessageCodec.encode(.profile(PeerProfile(displayName: "", presence: PeerPresence(status: .online))), into: &buffer)
        }
        #expect(buffer == before)
    }

    @Test("unknown goodbye reasons from newer peers decode")
    func unknownGoodbyeReason() throws {
        var body = BodyBuilder()
        body.u16(0x4242)
        body.string("new reason")
        #expect(try decode(type: .goodbye, body) == .message(.goodbye(PeerGoodbye(reason: GoodbyeReason(rawValue: 0x4242), message: "new reason"))))
    }

    @Test("a subscription is one byte, 0 or 1; anything else is rejected")
    func subscriptionFlag() throws {
        var yes = BodyBuilder()
        yes.u8(1)
        #expect(try decode(type: .subscription, yes) == .message(.subscription(subscribed: true)))
        for bad: UInt8 in [2, 0x80, 0xFF] {
            var body = BodyBuilder()
            body.u8(bad)
            expectError(.malformed, type: .subscription, body)
        }
        expectError(.truncated, type: .subscription, BodyBuilder())
        var long = BodyBuilder()
        long.u8(0)
        long.u8(0)
        expectError(.malformed, type: .subscription, long)
    }

    @Test("a listening port is two bytes, 1 to 65535")
    func listeningPortBounds() throws {
        var port = BodyBuilder()
        port.u16(65535)
        #expect(try decode(type: .listeningPort, port) == .message(.listeningPort(65535)))
        var zero = BodyBuilder()
        zero.u16(0)
        expectError(.malformed, type: .listeningPort, zero)
        var short = BodyBuilder()
        short.u8(1)
        expectError(.truncated, type: .listeningPort, short)
        var buffer = ByteBuffer()
        #expect(throws: PeerProtocolError.self) { try PeerMessageCodec.encode(.listeningPort(0), into: &buffer) }
        #expect(buffer.readableBytes == 0)
    }
}
