import NIOCore
import NIOPosix
import PeerProtocol
import PeerSessions

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's end of one channel's `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`,
/// as a NIO channel on the link's event loop; the other end goes to the application.
///
/// Reading is manual (no auto-read) and asked for only while the channel has credit, so an
/// application writes into its socket buffer and then blocks until the peer's application
/// reads. End-of-file from the application (its `shutdown(SHUT_WR)` or `close`) is its
/// end-of-stream; the peer's end-of-stream is `shutdown(SHUT_WR)` here once everything
/// before it was written. A channel that ends otherwise closes this end at once, dropping
/// what was not delivered; the application then reads `ECONNRESET` if it had written bytes
/// the daemon had not taken, else end-of-file (docs/dbus-api.md, "Application channels").
final class ApplicationSocket {
    private let id: ChannelID
    private let eventLoop: any EventLoop
    private unowned let owner: LinkChannels
    private var channel: EventLoopFuture<any Channel>!
    private var lastWrite: EventLoopFuture<Void>?
    private var isReading = false
    private var ended = false
    private var sawEndOfFile = false
    /// This side's end-of-stream to the application was asked for.
    private var closedOutput = false

    /// Bytes each read takes at most: the overshoot past the credit is at most this. Four
    /// whole chunks, so that a full read is cut into chunks without joining leftovers.
    static let readSize = 4 * PeerProtocolLimits.channelChunkFillingOneRecordBytes

    private init(id: ChannelID, eventLoop: any EventLoop, owner: LinkChannels) {
        self.id = id
        self.eventLoop = eventLoop
        self.owner = owner
    }

    private func start(_ descriptor: Int32) {
        let handler = NIOLoopBound(ApplicationSocketHandler(socket: self), eventLoop: eventLoop)
        channel = ClientBootstrap(group: eventLoop)
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.readSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .withConnectedSocket(descriptor)
        channel.assumeIsolated().whenSuccess { [self] _ in self.readIfAllowed() }
    }

    /// A socket pair for channel `id`: the socket on this side and the application's end.
    static func make(id: ChannelID, eventLoop: any EventLoop, owner: LinkChannels) throws -> (ApplicationSocket, Int32) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw IOError(errnoCode: errno, reason: "socketpair")
        }
        let socket = ApplicationSocket(id: id, eventLoop: eventLoop, owner: owner)
        socket.start(pair[0])
        socket.channel.whenFailure { _ in socket.failed() }
        return (socket, pair[1])
    }

    // MARK: From the link

    /// Bytes from the peer: written in order, reported consumed once the socket took them.
    /// Nothing goes out before ``flush()``, so that the chunks of one read of the link
    /// reach the application in one system call.
    func deliver(_ bytes: ByteBuffer) {
        let count = bytes.readableBytes
        let promise = eventLoop.makePromise(of: Void.self)
        channel.whenSuccess { $0.write(bytes, promise: promise) }
        channel.whenFailure { promise.fail($0) }
        lastWrite = promise.futureResult
        promise.futureResult.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success: self.owner.applicationConsumed(self.id, count)
            case .failure: if !self.ended { self.owner.applicationFailed(self.id) }
            }
        }
    }

    /// Sends what ``deliver(_:)`` queued.
    func flush() {
        channel.whenSuccess { $0.flush() }
    }

    /// The peer's application finished writing: end-of-stream after what was written.
    func finishWriting() {
        let after = lastWrite ?? eventLoop.makeSucceededVoidFuture()
        let channel = self.channel!
        closedOutput = true
        after.whenSuccess { channel.whenSuccess { $0.close(mode: .output, promise: nil) } }
    }

    /// Asks for the next read when the channel has credit.
    func readIfAllowed() {
        // Nil only while the bootstrap registers the socket; ``start(_:)`` asks again after.
        guard let channel, !isReading, !ended, owner.readAllowance(id) > 0 else { return }
        isReading = true
        channel.whenSuccess { $0.read() }
    }

    /// The channel is over: close now (or, cleanly, after the last write).
    func end(cleanly: Bool) {
        guard !ended else { return }
        ended = true
        let channel = self.channel!
        if cleanly, let lastWrite {
            lastWrite.whenComplete { _ in channel.whenSuccess { $0.close(promise: nil) } }
        } else {
            channel.whenSuccess { $0.close(promise: nil) }
        }
    }

    // MARK: From the socket

    fileprivate func read(_ bytes: ByteBuffer) {
        isReading = false
        guard !ended else { return }
        owner.applicationRead(id, bytes)
    }

    fileprivate func readComplete() {
        isReading = false
        readIfAllowed()
    }

    fileprivate func inputClosed() {
        guard !ended else { return }
        sawEndOfFile = true
        owner.applicationFinished(id)
    }

    /// The socket closed under the channel: after the application's end-of-file that is
    /// its `close` (a delivery after it fails and resets the channel). Once this side's
    /// output is shut, NIO reads the application's end-of-file as the end of the whole
    /// socket and closes it without an `inputClosed` event (a failure would have come
    /// first, through `errorCaught`): that is the application finishing, after everything
    /// it wrote was read. Otherwise the socket failed.
    fileprivate func closed() {
        guard !ended, !sawEndOfFile else { return }
        if closedOutput {
            sawEndOfFile = true
            owner.applicationFinished(id)
        } else {
            owner.applicationFailed(id)
        }
    }

    fileprivate func failed() {
        guard !ended else { return }
        owner.applicationFailed(id)
    }
}

/// The NIO side of an ``ApplicationSocket``.
private final class ApplicationSocketHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let socket: ApplicationSocket

    init(socket: ApplicationSocket) {
        self.socket = socket
    }

    func channelActive(context: ChannelHandlerContext) {
        socket.readIfAllowed()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        socket.read(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        socket.readComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { socket.inputClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        socket.failed()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        socket.closed()
    }
}
