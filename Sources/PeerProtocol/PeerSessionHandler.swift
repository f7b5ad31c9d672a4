import NIOCore

/// Runs a ``PeerSessionStateMachine`` on a channel: sends the hello, answers pings, enforces
/// the hello deadline, keepalives, idle drop and request limits, and closes with a goodbye
/// on any protocol error.
///
/// Pipeline, after the TLS handler: `ByteToMessageHandler(PeerFrameDecoder(...))`, then this
/// handler, then the application. Install it when the connection opens, so that the hello
/// deadline also bounds the TLS handshake. The application receives ``PeerMessage``s
/// (never hello, ping or pong), a ``PeerSessionEvent/established(_:)`` user event, the
/// peer's goodbye as a message just before the close, and each ``PeerProtocolError`` that
/// closed the session through `errorCaught` (to log it). It writes ``PeerMessage``s; this
/// handler encodes them itself (rather than through ``PeerFrameEncoder`` in a
/// `MessageToByteHandler`, which stays failed after one bad message), so a message that
/// breaks a limit fails only its own write. To leave, write a ``PeerMessage/goodbye(_:)``:
/// the handler sends it and closes the channel.
public final class PeerSessionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = PeerInboundMessage
    public typealias InboundOut = PeerMessage
    public typealias OutboundIn = PeerMessage
    public typealias OutboundOut = ByteBuffer

    private var machine: PeerSessionStateMachine
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// What the application was last told about staleness.
    private var reportedStale = false

    /// Makes a handler that will greet the peer with `hello`.
    public init(hello: PeerHello, configuration: PeerSessionConfiguration = PeerSessionConfiguration()) {
        self.machine = PeerSessionStateMachine(localHello: hello, configuration: configuration)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startSession(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    public func channelActive(context: ChannelHandlerContext) {
        startSession(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        machine.channelClosed()
        cancelTimer()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let inbound = unwrapInboundIn(data)
        perform(machine.received(inbound, now: context.eventLoop.now), context: context)
        switch inbound {
        case .message(.ping), .message(.pong):
            if !machine.isClosingOrClosed { context.fireUserInboundEventTriggered(PeerSessionEvent.keepaliveReceived) }
        default:
            break
        }
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? PeerSessionCommand else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch command {
        case .probe(let within):
            guard machine.hasStarted else { break }
            perform(machine.probe(now: context.eventLoop.now, within: within), context: context)
        }
        promise?.succeed(())
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let protocolError = error as? PeerProtocolError else {
            context.fireErrorCaught(error)
            return
        }
        perform(machine.errorCaught(protocolError), context: context)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = unwrapOutboundIn(data)
        switch machine.willSend(message) {
        case .reject(let error):
            promise?.fail(error)
        case .write:
            send(message, context: context, promise: promise)
        case .writeThenClose:
            send(message, context: context, promise: promise)
            context.flush()
            cancelTimer()
            context.close(promise: nil)
        }
    }

    private func startSession(context: ChannelHandlerContext) {
        guard !machine.hasStarted else { return }
        perform(machine.start(now: context.eventLoop.now), context: context)
        context.flush()
    }

    private func perform(_ action: PeerSessionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .write(let message):
            send(message, context: context, promise: nil)
            context.flush()
        case .deliver(let message):
            context.fireChannelRead(wrapInboundOut(message))
        case .sessionEstablished(let parameters):
            context.fireUserInboundEventTriggered(PeerSessionEvent.established(parameters))
        case .deliverGoodbyeAndClose(let goodbye):
            context.fireChannelRead(wrapInboundOut(.goodbye(goodbye)))
            cancelTimer()
            context.close(promise: nil)
        case .close(let goodbye, let error):
            if let goodbye {
                send(.goodbye(goodbye), context: context, promise: nil)
                context.flush()
            }
            cancelTimer()
            if let error { context.fireErrorCaught(error) }
            context.close(promise: nil)
        }
        if !machine.isClosingOrClosed, machine.isPeerStale != reportedStale {
            reportedStale = machine.isPeerStale
            context.fireUserInboundEventTriggered(reportedStale ? PeerSessionEvent.peerStale : PeerSessionEvent.peerResponsive)
        }
        scheduleTimer(context: context)
    }

    private func send(_ message: PeerMessage, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        // Channel data is the one large message sent often: room for it at once, not by growing.
        let capacity = if case .channelData(let data) = message { data.bytes.readableBytes + 16 } else { 64 }
        var buffer = context.channel.allocator.buffer(capacity: capacity)
        do {
            try PeerMessageCodec.encode(message, into: &buffer)
        } catch {
            promise?.fail(error)
            return
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// Keeps one timer, at the machine's next deadline. Inbound messages only move that
    /// deadline later, so the timer is not rescheduled per message: when it fires early the
    /// machine does nothing and the timer is set again for the new deadline.
    private func scheduleTimer(context: ChannelHandlerContext) {
        guard let deadline = machine.nextDeadline else {
            cancelTimer()
            return
        }
        if let timerDeadline, timerDeadline <= deadline { return }
        cancelTimer()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.timerDeadline = nil
            self.perform(self.machine.deadlinePassed(now: context.eventLoop.now), context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }
}

@available(*, unavailable)
extension PeerSessionHandler: Sendable {}
