import NIOCore
import NIOPosix
import PeerSecurity

#if canImport(Glibc)
import Glibc
#endif

/// `serve`: our TLS server with an echo on top, the counterpart of `openssl s_server -rev`.
/// One event-loop thread, as in the daemon. Runs until killed.
enum EchoServer {
    static func run(_ options: Options) async throws {
        let identity = try PeerIdentity.loadOrCreate(directory: try options.string("identity"))
        let secureChannel = try SecureChannel(identity: identity)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = try await secureChannel.serverBootstrap(group: group) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(EchoHandler())
            }
        }.bind(host: "127.0.0.1", port: try options.int("port", default: 0)).get()
        print("port \(listener.localAddress?.port ?? 0) peer \(identity.peerName)")
        fflush(nil)
        try await listener.closeFuture.get()
    }
}

/// Sends back whatever plaintext arrives, so the client knows the server finished its side.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
