import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity

#if canImport(Glibc)
import Glibc
#endif

/// `session`: against peercollabd, rounds of a new TCP connection with a fresh identity,
/// TLS, and both hellos, timed from before the TCP connect until
/// ``PeerSessionEvent/established(_:)`` arrives; then a goodbye. The pipeline is the
/// daemon's: security handler, frame decoder, session handler.
enum SessionRounds {
    static func run(_ options: Options) async throws {
        let port = try options.int("port")
        let expected = try PeerName(parsing: try options.string("expect"))
        let count = try options.int("count")
        let warmup = try options.int("warmup", default: 20)
        let channels = try identities(in: try options.string("identities"), count: count + warmup)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        for index in 0..<warmup {
            let session = try await openSession(channels[index], group: group, port: port, expecting: expected)
            try await session.leave()
        }
        var authenticated: [Double] = []
        var established: [Double] = []
        let stopwatch = Stopwatch()
        for index in warmup..<(warmup + count) {
            let session = try await openSession(channels[index], group: group, port: port, expecting: expected)
            authenticated.append(session.authenticatedMicroseconds)
            established.append(session.establishedMicroseconds)
            try await session.leave()
        }
        let wall = stopwatch.wallSeconds
        try await group.shutdownGracefully()
        print("{\"client\": \"session\", \"count\": \(count), \"wall_s\": \(wall), \"client_cpu_s\": \(stopwatch.cpuSeconds), \"per_second\": \(format(Double(count) / wall)), \(Summary(authenticated).json("tls")), \(Summary(established).json("established"))}")
    }
}

/// An open session with the daemon, and how long its steps took.
struct OpenSession {
    let channel: any Channel
    /// From before the TCP connect until the daemon's certificate was checked.
    let authenticatedMicroseconds: Double
    /// From before the TCP connect until both hellos were exchanged.
    let establishedMicroseconds: Double

    /// Says goodbye (the session handler then closes) and waits for the close.
    func leave() async throws {
        channel.writeAndFlush(PeerMessage.goodbye(PeerGoodbye(reason: .signedOut)), promise: nil)
        try await channel.closeFuture.get()
    }
}

/// Connects with the daemon's pipeline and waits until the session is established.
func openSession(_ secureChannel: SecureChannel, group: any EventLoopGroup, port: Int, expecting peer: PeerName) async throws -> OpenSession {
    let start = NIODeadline.now()
    let established = group.any().makePromise(of: Void.self)
    let connection: SecureChannel.Connection
    do {
        connection = try await secureChannel.clientConnect(group: group, host: "127.0.0.1", port: port, expecting: peer) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(ByteToMessageHandler(PeerFrameDecoder()))
                try sync.addHandler(PeerSessionHandler(hello: benchmarkHello))
                try sync.addHandler(SessionWatcher(established))
            }
        }
    } catch {
        established.fail(error)
        throw error
    }
    let authenticated = microseconds(since: start)
    try await established.futureResult.get()
    return OpenSession(channel: connection.channel, authenticatedMicroseconds: authenticated, establishedMicroseconds: microseconds(since: start))
}

/// Completes a promise when the session is established, or fails it when the channel ends
/// first; drops the messages that follow (the daemon's profile).
final class SessionWatcher: ChannelInboundHandler {
    typealias InboundIn = PeerMessage
    private let established: EventLoopPromise<Void>

    init(_ established: EventLoopPromise<Void>) { self.established = established }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .established = event as? PeerSessionEvent { established.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {
        established.fail(BenchmarkError.connection("the daemon closed the connection before the session was established"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        established.fail(error)
        context.close(promise: nil)
    }
}
