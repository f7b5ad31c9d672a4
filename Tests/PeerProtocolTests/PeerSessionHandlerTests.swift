import NIOCore
import NIOEmbedded
import PeerProtocol
import Testing

/// Collects what the session hands to the application.
private final class ApplicationRecorder: ChannelInboundHandler {
    typealias InboundIn = PeerMessage
    var messages: [PeerMessage] = []
    var events: [PeerSessionEvent] = []
    var errors: [PeerProtocolError] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        messages.append(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? PeerSessionEvent { events.append(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? PeerProtocolError { errors.append(error) }
    }
}

@Suite("Session handler on an EmbeddedChannel")
struct PeerSessionHandlerTests {
    let configuration = PeerSessionConfiguration(helloTimeout: .seconds(10), keepaliveInterval: .seconds(15), idleTimeout: .seconds(50))

    private func makeChannel() throws -> (EmbeddedChannel, ApplicationRecorder) {
        let channel = EmbeddedChannel()
        let recorder = ApplicationRecorder()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(PeerFrameDecoder(maximumFrameLength: configuration.maximumFrameLength)),
            PeerSessionHandler(hello: SampleMessages.hello, configuration: configuration),
            recorder,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, recorder)
    }

    /// Everything the handler wrote, decoded as the peer would.
    private func sent(_ channel: EmbeddedChannel) throws -> [PeerMessage] {
        var all = ByteBuffer()
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { all.writeImmutableBuffer(buffer) }
        return try PeerMessageCodec.decodeFrames(from: &all).map {
            guard case .message(let message) = $0 else { throw PeerProtocolError.malformed("test", "unknown type sent") }
            return message
        }
    }

    private func feed(_ channel: EmbeddedChannel, _ messages: PeerMessage...) throws {
        for message in messages { try channel.writeInbound(SampleMessages.frameBytes(message)) }
    }

    private func establish() throws -> (EmbeddedChannel, ApplicationRecorder) {
        let (channel, recorder) = try makeChannel()
        _ = try sent(channel)
        try feed(channel, .hello(SampleMessages.hello))
        return (channel, recorder)
    }

    @Test("the hello goes out as soon as the channel is active, and the peer's establishes the session")
    func handshake() throws {
        let (channel, recorder) = try makeChannel()
        #expect(try sent(channel) == [.hello(SampleMessages.hello)])
        try feed(channel, .hello(PeerHello(versions: 1...4, capabilities: [.objects], softwareVersion: "other 2.0")))
        guard case .established(let parameters)? = recorder.events.first else {
            Issue.record("no established event")
            return
        }
        #expect(parameters.version == 1)
        #expect(parameters.sharedCapabilities == [.objects])
        #expect(recorder.messages.isEmpty, "the hello is not handed to the application")
    }

    @Test("a silent client is dropped at the hello deadline with a timeout goodbye")
    func silentClientDropped() throws {
        let (channel, recorder) = try makeChannel()
        _ = try sent(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(try sent(channel).map(\.type) == [.goodbye])
        #expect(recorder.errors.map(\.code) == [.helloTimeout])
    }

    @Test("a slow client trickling its hello is dropped at the same deadline")
    func slowClientDropped() throws {
        let (channel, recorder) = try makeChannel()
        _ = try sent(channel)
        let hello = try SampleMessages.frameBytes(.hello(SampleMessages.hello))
        // One byte a second: the hello would take longer than the deadline allows.
        for (second, byte) in hello.readableBytesView.enumerated() where channel.isActive && second < 30 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(!channel.isActive)
        #expect(recorder.errors.map(\.code) == [.helloTimeout])
        #expect(recorder.events.isEmpty)
    }

    @Test("an idle peer gets pings and is dropped at the idle timeout; a pong keeps it")
    func idle() throws {
        let (channel, recorder) = try establish()
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))
        guard case .ping(let nonce)? = try sent(channel).first else {
            Issue.record("no ping after a quiet interval")
            return
        }
        try feed(channel, .pong(nonce: nonce))
        channel.embeddedEventLoop.advanceTime(by: .seconds(49))
        #expect(channel.isActive, "the pong reset the idle clock")
        #expect(try sent(channel).map(\.type) == [.ping, .ping, .ping])
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(try sent(channel).map(\.type) == [.goodbye])
        #expect(recorder.errors.map(\.code) == [.idleTimeout])
    }

    @Test("pings are answered, unknown types skipped, messages delivered in order")
    func traffic() throws {
        let (channel, recorder) = try establish()
        try channel.writeInbound(SampleMessages.frame(type: PeerMessageType(rawValue: 0x0F00), body: [9, 9, 9]))
        try feed(channel, .ping(nonce: 77), .profile(SampleMessages.profile), .presenceUpdate(PeerPresence(status: .away)))
        #expect(try sent(channel) == [.pong(nonce: 77)])
        #expect(recorder.messages == [.profile(SampleMessages.profile), .presenceUpdate(PeerPresence(status: .away))])
        #expect(channel.isActive)
    }

    @Test("an oversize frame closes the channel with a protocolError goodbye")
    func oversizeFrame() throws {
        let (channel, recorder) = try establish()
        // The error reaches the application's errorCaught (to log it), not the pipeline's tail.
        try channel.writeInbound(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0, 1]))
        #expect(!channel.isActive)
        let goodbyes = try sent(channel)
        guard case .goodbye(let goodbye)? = goodbyes.first, goodbyes.count == 1 else {
            Issue.record("expected one goodbye, got \(goodbyes)")
            return
        }
        #expect(goodbye.reason == .protocolError)
        #expect(recorder.errors.map(\.code) == [.frameTooLarge])
    }

    @Test("a malformed message closes the channel; nothing after it is delivered")
    func malformedMessage() throws {
        let (channel, recorder) = try establish()
        var bytes = SampleMessages.frame(type: .presenceUpdate, body: [42, 0, 0])
        bytes.writeImmutableBuffer(try SampleMessages.frameBytes(.profileRequest))
        try channel.writeInbound(bytes)
        #expect(!channel.isActive)
        #expect(recorder.messages.isEmpty)
        #expect(recorder.errors.map(\.code) == [.malformed])
    }

    @Test("the peer's goodbye is delivered and the channel closes")
    func remoteGoodbye() throws {
        let (channel, recorder) = try establish()
        try feed(channel, .goodbye(PeerGoodbye(reason: .signedOut, message: "see you")))
        #expect(recorder.messages == [.goodbye(PeerGoodbye(reason: .signedOut, message: "see you"))])
        #expect(!channel.isActive)
        #expect(try sent(channel).isEmpty, "no goodbye answers a goodbye")
    }

    @Test("a message breaking a limit fails only its own write")
    func badWriteFailsAlone() throws {
        let (channel, _) = try establish()
        let bad = PeerMessage.presenceUpdate(PeerPresence(status: .online, message: String(repeating: "x", count: 1025)))
        #expect(throws: PeerProtocolError.self) { try channel.writeOutbound(bad) }
        try channel.writeOutbound(PeerMessage.presenceUpdate(PeerPresence(status: .online, message: "ok")))
        #expect(try sent(channel) == [.presenceUpdate(PeerPresence(status: .online, message: "ok"))])
        #expect(channel.isActive)
    }

    @Test("writes before the session is established fail with unexpectedMessage")
    func writeBeforeEstablished() throws {
        let (channel, _) = try makeChannel()
        _ = try sent(channel)
        #expect(performing: { try channel.writeOutbound(PeerMessage.profileRequest) }, throws: { ($0 as? PeerProtocolError)?.code == .unexpectedMessage })
    }

    @Test("the application's goodbye is sent and the channel closes")
    func localGoodbye() throws {
        let (channel, _) = try establish()
        try channel.writeOutbound(PeerMessage.goodbye(PeerGoodbye(reason: .shuttingDown)))
        #expect(!channel.isActive)
        #expect(try sent(channel) == [.goodbye(PeerGoodbye(reason: .shuttingDown))])
    }

    @Test("keepalives received, a missed keepalive and the answer after it reach the application as events")
    func staleEvents() throws {
        let (channel, recorder) = try establish()
        _ = try sent(channel)
        try feed(channel, .ping(nonce: 5))
        #expect(recorder.events.last == .keepaliveReceived)
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))  // our ping
        #expect(!recorder.events.contains(.peerStale))
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))  // unanswered for an interval
        #expect(recorder.events.last == .peerStale)
        try feed(channel, .pong(nonce: 0))
        #expect(recorder.events.suffix(2) == [.peerResponsive, .keepaliveReceived])
        #expect(channel.isActive)
    }

    @Test("a probe pings at once and drops a peer that does not answer within its bound")
    func probe() throws {
        let (channel, recorder) = try establish()
        _ = try sent(channel)
        channel.pipeline.triggerUserOutboundEvent(PeerSessionCommand.probe(within: .seconds(3)), promise: nil)
        #expect(try sent(channel).map(\.type) == [.ping])
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(recorder.errors.map(\.code) == [.idleTimeout])
    }

    @Test("a probe answered in time keeps the session")
    func probeAnswered() throws {
        let (channel, _) = try establish()
        _ = try sent(channel)
        channel.pipeline.triggerUserOutboundEvent(PeerSessionCommand.probe(within: .seconds(3)), promise: nil)
        try feed(channel, .pong(nonce: 0))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(channel.isActive)
    }
}

