import NIOCore
import NIOPosix
import PeerSecurity

#if canImport(Glibc)
import Glibc
#endif

/// `handshake`: rounds of a new TCP connection, the full mutual TLS 1.3 handshake through
/// ``SecureChannel/clientConnect``, one line echoed (so the server has finished its side
/// too), and a close with close_notify; the same round as tls-client.c.
enum HandshakeRounds {
    static func run(_ options: Options) async throws {
        let identity = try PeerIdentity.loadOrCreate(directory: try options.string("identity"))
        let secureChannel = try SecureChannel(identity: identity)
        let port = try options.int("port")
        let expected = try PeerName(parsing: try options.string("expect"))
        let count = try options.int("count")
        let parallel = max(1, try options.int("parallel", default: 1))
        let warmup = try options.int("warmup", default: 50)
        // One loop per concurrent round up to the two cores; sequential rounds get one.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: min(parallel, 2))

        for _ in 0..<warmup {
            _ = try await round(secureChannel, group: group, port: port, expecting: expected)
        }
        let stopwatch = Stopwatch()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { tasks in
            for worker in 0..<parallel {
                let share = count / parallel + (worker < count % parallel ? 1 : 0)
                tasks.addTask {
                    var latencies: [Double] = []
                    for _ in 0..<share {
                        latencies.append(try await round(secureChannel, group: group, port: port, expecting: expected))
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in tasks { all += part }
            return all
        }
        let wall = stopwatch.wallSeconds
        let cpu = stopwatch.cpuSeconds
        try await group.shutdownGracefully()
        print("{\"client\": \"securechannel\", \"count\": \(count), \"parallel\": \(parallel), \"wall_s\": \(wall), \"client_cpu_s\": \(cpu), \"per_second\": \(format(Double(count) / wall)), \(Summary(latencies).json("latency"))}")
    }

    /// One round; returns its microseconds.
    static func round(_ secureChannel: SecureChannel, group: any EventLoopGroup, port: Int, expecting peer: PeerName) async throws -> Double {
        let start = NIODeadline.now()
        let reply = group.any().makePromise(of: Void.self)
        let connection: SecureChannel.Connection
        do {
            connection = try await secureChannel.clientConnect(group: group, host: "127.0.0.1", port: port, expecting: peer) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FirstReply(reply))
                }
            }
        } catch {
            reply.fail(error)
            throw error
        }
        connection.channel.writeAndFlush(ByteBuffer(string: "ping\n"), promise: nil)
        try await reply.futureResult.get()
        try? await connection.channel.close()
        return microseconds(since: start)
    }
}

/// Completes a promise with the first plaintext that arrives, or fails it when the channel ends first.
final class FirstReply: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        promise.succeed(())
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(BenchmarkError.connection("the server closed the connection before it answered"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
