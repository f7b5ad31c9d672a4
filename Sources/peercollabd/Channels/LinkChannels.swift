import Collaboration
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity
import PeerSessions

#if canImport(Glibc)
import Glibc
#endif

/// The application channels of one peer link, in its pipeline between the session handler
/// and ``PeerChannelHandler``: channel messages stop here (channels are a session concern,
/// not the domain's), everything else passes.
///
/// It runs a ``ChannelMultiplexer`` and does its I/O: frames go to the link only while the
/// link is writable, so the domain's messages (keepalives, presence, invitations), written
/// straight through, never wait behind more than one chunk per channel; each application's
/// socket (``ApplicationSocket``) is read only while its channel has credit, and a chunk
/// delivered to it counts as consumed once the socket took it.
final class LinkChannels: ChannelDuplexHandler {
    typealias InboundIn = PeerMessage
    typealias InboundOut = PeerMessage
    typealias OutboundIn = PeerMessage
    typealias OutboundOut = PeerMessage

    private let linkID: Int
    private let hub: ChannelHub
    private let logger: Logger
    private var mux = ChannelMultiplexer()
    private var context: ChannelHandlerContext?
    private var capabilities: Set<PeerCapability> = []
    private var peerName = "unauthenticated"
    private var isEstablished = false
    private var isClosed = false
    /// Why the link is going, once a goodbye passed (ours or the peer's).
    private var ending: ChannelEnd = .peerGone
    private var sockets: [ChannelID: ApplicationSocket] = [:]
    /// Each local channel's invitation (its object id) and name.
    private var owners: [ChannelID: (invitationID: String, name: String)] = [:]
    private var invitationKeys: [String: (wireID: String, localIsInviter: Bool)] = [:]
    private var ticker: Scheduled<Void>?
    private var pumping = false
    /// Between a read of the link and its read-complete: deliveries wait for one flush.
    private var inReadBurst = false
    /// Application sockets with deliveries not flushed yet.
    private var unflushed: Set<ChannelID> = []

    init(linkID: Int, hub: ChannelHub, logger: Logger) {
        self.linkID = linkID
        self.hub = hub
        self.logger = logger
    }

    // MARK: Pipeline

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let authenticated = event as? PeerAuthenticated {
            peerName = "\(authenticated.peerName)"
        } else if case .established(let parameters) = event as? PeerSessionEvent {
            capabilities = parameters.sharedCapabilities
            isEstablished = true
            hub.linkEstablished(linkID, self, on: context.eventLoop)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadBurst = true
        let message = unwrapInboundIn(data)
        if case .goodbye(let goodbye) = message, goodbye.reason == .shuttingDown { ending = .stopping }
        guard message.isChannelMessage else {
            context.fireChannelRead(data)
            return
        }
        do throws(PeerProtocolError) {
            guard capabilities.contains(.channels) else {
                throw PeerProtocolError.unexpectedMessage("\(message.type) from a peer whose hello lacks channels", state: "established")
            }
            try mux.received(message, now: .now)
        } catch {
            protocolBreach(error, context: context)
            return
        }
        afterChange()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .goodbye(let goodbye) = unwrapOutboundIn(data) {
            ending = goodbye.reason == .shuttingDown ? .stopping : .peerGone
        }
        context.write(data, promise: promise)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        flushDeliveries()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        inReadBurst = false
        hub.linkClosed(linkID)
        mux.linkClosed(ending)
        handleEvents()
        ticker?.cancel()
        ticker = nil
        context.fireChannelInactive()
    }

    private func protocolBreach(_ error: PeerProtocolError, context: ChannelHandlerContext) {
        logger.warning(
            "Dropped a peer connection: it broke the channel protocol: \(error.message)",
            metadata: ["peer": "\(peerName)", "link": "\(linkID)"])
        ending = .protocolError
        let goodbye = PeerGoodbye(reason: .protocolError, message: String(error.message.prefix(120)))
        context.writeAndFlush(wrapOutboundOut(.goodbye(goodbye)), promise: nil)
        context.close(promise: nil)
    }

    // MARK: The bus (on the event loop)

    /// A new channel for the application of `target` on this side; returns the
    /// application's end of its socket pair.
    func open(target: Collaboration.ChannelTarget, name: String) throws -> Int32 {
        guard isEstablished, !isClosed, let context else {
            throw CollaborationError(.peerUnreachable, "The connection to \(target.peerDisplayName) is closing; open the channel again once it is back.")
        }
        guard capabilities.contains(.channels) else {
            throw CollaborationError(
                .notSupported, "\(target.peerDisplayName) runs software that does not speak application channels; they would have to update peercollab.")
        }
        let key = ChannelKey(invitationWireID: target.wireID, localIsInviter: target.localIsInviter, name: name)
        let id: ChannelID
        do {
            id = try mux.open(key)
        } catch {
            throw Self.refusal(error, name: name, invitation: target.invitationID)
        }
        let socket: ApplicationSocket
        let applicationEnd: Int32
        do {
            (socket, applicationEnd) = try ApplicationSocket.make(id: id, eventLoop: context.eventLoop, owner: self)
        } catch {
            mux.end(id, .reset)
            _ = mux.takeEvents()
            pump()
            throw CollaborationError(.failed, "Failed to make the channel's socket pair: \(error). Close some files or raise the descriptor limit.")
        }
        sockets[id] = socket
        owners[id] = (target.invitationID, name)
        invitationKeys[target.invitationID] = (target.wireID, target.localIsInviter)
        startTicker()
        afterChange()
        report(target.invitationID)
        return applicationEnd
    }

    /// The invitation object went away: its channels end, on both sides.
    func invitationRemoved(_ invitationID: String) {
        guard let key = invitationKeys.removeValue(forKey: invitationID) else { return }
        mux.endAll(where: { $0.invitationWireID == key.wireID && $0.localIsInviter == key.localIsInviter }, .invitationGone)
        afterChange()
    }

    private static func refusal(_ refusal: ChannelOpenRefusal, name: String, invitation: String) -> CollaborationError {
        switch refusal {
        case .nameInUse:
            CollaborationError(.alreadyExists, "A channel \"\(name)\" of this invitation is open already; close it first or pick another name.")
        case .tooManyOnLink(let limit):
            CollaborationError(.rateLimited, "\(limit) channels are open to this peer already; close some first.")
        case .tooManyOnInvitation(let limit):
            CollaborationError(.rateLimited, "\(limit) channels of this invitation are open already; close some first.")
        case .tooManyUnanswered(let limit):
            CollaborationError(
                .rateLimited, "\(limit) channels to this peer wait for its applications to open them; wait for those or close some first.")
        }
    }

    // MARK: The applications' sockets (on the event loop)

    func applicationRead(_ id: ChannelID, _ bytes: ByteBuffer) {
        mux.applicationWrote(id, bytes)
        afterChange()
    }

    func applicationFinished(_ id: ChannelID) {
        mux.applicationFinished(id)
        afterChange()
        if let owner = owners[id] { report(owner.invitationID) }
    }

    func applicationConsumed(_ id: ChannelID, _ count: Int) {
        mux.consumed(id, count: count, now: .now)
        afterChange()
    }

    /// The socket failed or the application closed it while data was still coming.
    func applicationFailed(_ id: ChannelID) {
        mux.end(id, .reset)
        afterChange()
    }

    /// Whether the application's socket should be read now.
    func readAllowance(_ id: ChannelID) -> Int { mux.readAllowance(id) }

    // MARK: Doing what the multiplexer says

    private func afterChange() {
        handleEvents()
        pump()
        handleEvents()
    }

    private func handleEvents() {
        var touched: Set<String> = []
        for event in mux.takeEvents() {
            switch event {
            case .connected(let id):
                if let owner = owners[id] { touched.insert(owner.invitationID) }
            case .deliver(let id, let bytes):
                sockets[id]?.deliver(bytes)
                unflushed.insert(id)
            case .endOfStream(let id):
                flushDeliveries(to: id)
                sockets[id]?.finishWriting()
                if let owner = owners[id] { touched.insert(owner.invitationID) }
            case .creditAvailable(let id):
                sockets[id]?.readIfAllowed()
            case .ended(let id, let end):
                if end == .closed { flushDeliveries(to: id) }
                unflushed.remove(id)
                sockets.removeValue(forKey: id)?.end(cleanly: end == .closed)
                if let owner = owners.removeValue(forKey: id) {
                    // Channels first, so that a client acting on ChannelClosed finds it gone.
                    report(owner.invitationID)
                    hub.closed(owner.invitationID, name: owner.name, reason: end)
                    logger.debug("Channel ended", metadata: ["channel": "\(owner.name)", "invitation": "\(owner.invitationID)", "reason": "\(end.rawValue)"])
                }
            }
        }
        for invitation in touched { report(invitation) }
        if !inReadBurst { flushDeliveries() }
    }

    private func flushDeliveries() {
        // A flush completes writes at once, and what that sets off may queue new deliveries.
        while let id = unflushed.popFirst() { sockets[id]?.flush() }
    }

    private func flushDeliveries(to id: ChannelID) {
        if unflushed.remove(id) != nil { sockets[id]?.flush() }
    }

    /// Writes frames while the link takes them; the rest waits for writability.
    private func pump() {
        guard let context, !pumping, !isClosed else { return }
        pumping = true
        defer { pumping = false }
        var wrote = false
        while context.channel.isWritable, let frame = mux.nextFrame() {
            context.write(wrapOutboundOut(frame), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }

    /// Puts the channels of one invitation on the bus (deduplicated by the hub).
    private func report(_ invitationID: String) {
        var entries: [ChannelListing] = []
        for (id, owner) in owners where owner.invitationID == invitationID {
            guard let listing = mux.listing(id) else { continue }
            entries.append(ChannelListing(
                name: owner.name, state: listing.state.rawValue, bytesSent: listing.bytesSent, bytesReceived: listing.bytesReceived))
        }
        entries.sort { $0.name < $1.name }
        hub.report(invitationID, entries)
    }

    /// Byte counters reach the bus at most once a second; no timer runs without channels.
    private func startTicker() {
        guard ticker == nil, let context else { return }
        ticker = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
            self.ticker = nil
            let invitations = Set(self.owners.values.map(\.invitationID))
            for invitation in invitations { self.report(invitation) }
            if !self.owners.isEmpty { self.startTicker() }
        }
    }
}

@available(*, unavailable)
extension LinkChannels: Sendable {}
