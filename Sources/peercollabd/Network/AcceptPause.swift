import NIOCore

/// On the listener: when accepting fails (EMFILE, ENFILE: no descriptor left; ENOBUFS,
/// ENOMEM), stop reading the listening socket for a second instead of failing again at once.
///
/// Why not NIO's `AcceptBackoffHandler`: it delays the next `read`, but after a failed
/// `accept` NIO's server channel still counts its read as pending and stays registered for
/// readable, and the listen backlog keeps the socket readable: it spun on `accept4` at full
/// CPU (19,000 failed calls in 2 s). Turning `autoRead` off deregisters it; on after a second.
final class AcceptPause: ChannelInboundHandler {
    typealias InboundIn = any Channel
    static let pause: TimeAmount = .seconds(1)

    private let failures: AcceptFailures
    private var resume: Scheduled<Void>?

    init(failures: AcceptFailures) {
        self.failures = failures
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError else {
            context.fireErrorCaught(error)
            return
        }
        failures.failed(error)
        guard resume == nil else { return }
        let channel = context.channel
        try? channel.syncOptions?.setOption(.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [self] in
            self.resume = nil
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension AcceptPause: Sendable {}
