import Collaboration
import Logging
import NIOCore
import PeerProtocol
import PeerSecurity

/// The top of every peer pipeline: hands the authenticated, greeted session to the domain
/// and its messages after it, in order, through one task per connection.
final class PeerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = PeerMessage

    private enum Item: Sendable {
        case established(NIOPeerLink, PeerAuthenticated)
        case message(PeerMessage)
        case keepalive
        case stale(Bool)
        case closed
    }

    private let linkID: Int
    private let isOutgoing: Bool
    private let scope: Scope?
    /// The port I listen on, told to the peer (nil: not known).
    private let listeningPort: UInt16?
    private let logger: Logger
    private let drops: DropLog
    private let refusals: NetworkRefusals?
    private let inbox: AsyncStream<Item>.Continuation
    private let registered: OneShot<Void>?
    private var peer: PeerAuthenticated?
    private var lastError: (any Error)?

    /// `registered` is resolved once the domain took the link (or it closed before).
    init(
        linkID: Int, isOutgoing: Bool, scope: Scope?, listeningPort: UInt16?, collaboration: Collaboration, logger: Logger,
        drops: DropLog, refusals: NetworkRefusals? = nil, registered: OneShot<Void>? = nil
    ) {
        self.drops = drops
        self.refusals = refusals
        self.linkID = linkID
        self.isOutgoing = isOutgoing
        self.scope = scope
        self.listeningPort = listeningPort
        self.logger = logger
        self.registered = registered
        let (stream, continuation) = AsyncStream<Item>.makeStream()
        inbox = continuation
        Task {
            for await item in stream {
                switch item {
                case .established(let link, let peer):
                    let kept = await collaboration.linkEstablished(link, peer: peer, scope: scope)
                    registered?.resolve(kept ? .success(()) : .failure(CollaborationError(.peerUnreachable, "The connection to \(peer.peerName) was a duplicate or to myself.")))
                case .message(let message):
                    await collaboration.linkReceived(linkID, message)
                case .keepalive:
                    await collaboration.linkKeepalive(linkID)
                case .stale(let stale):
                    await collaboration.linkStale(linkID, stale)
                case .closed:
                    await collaboration.linkClosed(linkID)
                    return
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let authenticated = event as? PeerAuthenticated {
            peer = authenticated
            logger.debug("Peer authenticated", metadata: ["peer": "\(authenticated.peerName)", "link": "\(linkID)"])
        } else if case .established(let parameters) = event as? PeerSessionEvent, let peer {
            let link = NIOPeerLink(
                id: linkID, isOutgoing: isOutgoing, remoteEndpoint: ContactEndpoint(context.channel.remoteAddress),
                isOnLocalNetwork: LocalAddresses.isOnLocalNetwork(context.channel.remoteAddress),
                capabilities: parameters.sharedCapabilities, channel: context.channel)
            // Before anything the domain sends (the profile), so that the peer knows where
            // to reach me by the time it shows me.
            if parameters.sharedCapabilities.contains(.listeningPort), let listeningPort, listeningPort > 0 {
                context.writeAndFlush(NIOAny(PeerMessage.listeningPort(listeningPort)), promise: nil)
            }
            inbox.yield(.established(link, peer))
        } else if let session = event as? PeerSessionEvent {
            switch session {
            case .keepaliveReceived: inbox.yield(.keepalive)
            case .peerStale: inbox.yield(.stale(true))
            case .peerResponsive: inbox.yield(.stale(false))
            case .established: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.yield(.message(unwrapInboundIn(data)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        if (error as? PeerProtocolError)?.code == .overloaded { refusals?.note(.partialFrames) }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        drops.dropped(
            "Dropped a peer connection: \(error)", address: address,
            metadata: ["peer": "\(peer.map { "\($0.peerName)" } ?? "unauthenticated")"], on: context.eventLoop)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        registered?.resolve(.failure(lastError ?? CollaborationError(.peerUnreachable, "The peer closed the connection.")))
        inbox.yield(.closed)
        inbox.finish()
        context.fireChannelInactive()
    }
}
