import Foundation
import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity
import Synchronization

/// A peer written with the project's own channel and protocol libraries, driven by a test:
/// it dials a daemon, greets it, and sends whatever the test says, also what a well-behaved
/// daemon never would (floods). What it receives is kept for the test to read.
final class TestPeer: Sendable {
    let channel: any Channel
    let identity: PeerIdentity
    private let inbox = Inbox()
    private let group: MultiThreadedEventLoopGroup

    init(dialing host: String, port: UInt16, expecting peerName: String, capabilities: Set<PeerCapability> = [.presence]) async throws {
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let inbox = self.inbox
        let established = group.next().makePromise(of: Void.self)
        let secure = try SecureChannel(identity: identity)
        let connection = try await secure.clientConnect(
            group: group, host: host, port: Int(port), expecting: try PeerName(parsing: peerName)
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerFrameDecoder()))
                try channel.pipeline.syncOperations.addHandler(PeerSessionHandler(hello: PeerHello(
                    versions: PeerProtocolLimits.supportedVersions, capabilities: capabilities, softwareVersion: "test-peer")))
                try channel.pipeline.syncOperations.addHandler(Recorder(inbox: inbox, established: established))
            }
        }
        channel = connection.channel
        try await established.futureResult.get()
    }

    /// Sends one message (after the session is established).
    func send(_ message: PeerMessage) {
        channel.writeAndFlush(message, promise: nil)
    }

    /// Sends many at once, with one flush.
    func send(_ messages: [PeerMessage]) {
        for message in messages { channel.write(message, promise: nil) }
        channel.flush()
    }

    var messages: [PeerMessage] { inbox.messages.withLock { $0 } }

    func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Inbox: Sendable {
        let messages = Mutex<[PeerMessage]>([])
    }

    /// Lives on the channel's event loop only.
    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = PeerMessage
        let inbox: Inbox
        let established: EventLoopPromise<Void>
        var settled = false

        init(inbox: Inbox, established: EventLoopPromise<Void>) {
            self.inbox = inbox
            self.established = established
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .established = event as? PeerSessionEvent, !settled {
                settled = true
                established.succeed(())
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let message = unwrapInboundIn(data)
            inbox.messages.withLock { $0.append(message) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !settled {
                settled = true
                established.fail(ChannelError.ioOnClosedChannel)
            }
            context.fireChannelInactive()
        }
    }
}
