import NIOCore
import NIOPosix
import Synchronization

/// Makes mutually authenticated TLS 1.3 channels for one ``PeerIdentity``:
/// a server bootstrap for listening and a client connection for dialling.
///
/// It holds one OpenSSL `SSL_CTX` built from the identity, shared read-only by
/// all its channels; made at once from a ``PeerIdentity``, or at the first
/// connection from a ``LocalIdentity`` (so that a daemon nobody signed in never
/// sets up TLS). After ``PeerIdentity/renew()`` make a new `SecureChannel`
/// so new connections present the new certificate.
public struct SecureChannel: Sendable {
    /// Settings of the channels it makes.
    public struct Configuration: Sendable {
        /// How long a peer may take to complete the handshake before it is dropped.
        public var handshakeTimeout: TimeAmount
        /// How long dialling may take before it fails.
        public var connectTimeout: TimeAmount

        /// Settings with the given timeouts (10 s each by default).
        public init(handshakeTimeout: TimeAmount = .seconds(10), connectTimeout: TimeAmount = .seconds(10)) {
            self.handshakeTimeout = handshakeTimeout
            self.connectTimeout = connectTimeout
        }
    }

    /// A dialled channel whose peer has been authenticated.
    public struct Connection: Sendable {
        /// The channel; plaintext `ByteBuffer`s go in and come out of it.
        public let channel: any Channel
        /// Who is at the other end.
        public let peer: PeerAuthenticated
    }

    /// The settings in force.
    public let configuration: Configuration
    private let contexts: TLSContextSource

    /// Channels that present `identity`'s certificate and key.
    public init(identity: PeerIdentity, configuration: Configuration = Configuration()) throws {
        self.contexts = TLSContextSource(context: try TLSContext(identity: identity))
        self.configuration = configuration
    }

    /// Channels that present `identity`'s certificate and key, loaded at the first
    /// connection either way; until then nothing of OpenSSL runs. A failure to load
    /// fails that connection and is tried again at the next.
    public init(identity: LocalIdentity, configuration: Configuration = Configuration()) {
        self.contexts = TLSContextSource(making: { try TLSContext(identity: identity.load()) })
        self.configuration = configuration
    }

    /// A new handler for a pipeline built by hand; add it first, on the channel's event loop.
    public func makeHandler(role: ChannelSecurityHandler.Role) throws -> ChannelSecurityHandler {
        ChannelSecurityHandler(context: try contexts.context(), role: role, handshakeTimeout: configuration.handshakeTimeout, authentication: nil)
    }

    /// A server bootstrap whose accepted channels start with the security
    /// handler (accepting any peer with a valid self-signed certificate), then
    /// get what `childChannelInitializer` adds; those handlers see
    /// ``PeerAuthenticated`` as a user inbound event before any plaintext.
    /// Bind it once to `::` (dual-stack on Linux) or to each address wanted.
    public func serverBootstrap(
        group: any EventLoopGroup,
        childChannelInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> ServerBootstrap {
        let contexts = self.contexts
        let timeout = configuration.handshakeTimeout
        return ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                do {
                    let handler = ChannelSecurityHandler(context: try contexts.context(), role: .server(), handshakeTimeout: timeout, authentication: nil)
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return childChannelInitializer(channel)
            }
    }

    /// Dials `host`:`port` and completes the handshake, requiring the peer to
    /// hold the key of `expecting`; `channelInitializer` adds the handlers that
    /// go above the security handler. Fails with ``ChannelSecurityError`` when
    /// the peer is refused (the channel is then closed).
    public func clientConnect(
        group: any EventLoopGroup,
        host: String,
        port: Int,
        expecting peerName: PeerName,
        channelInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void> = { $0.eventLoop.makeSucceededVoidFuture() }
    ) async throws -> Connection {
        let eventLoop = group.next()
        let context = try contexts.context()
        let authentication = eventLoop.makePromise(of: PeerAuthenticated.self)
        let timeout = configuration.handshakeTimeout
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let handler = ChannelSecurityHandler(context: context, role: .client(expecting: peerName), handshakeTimeout: timeout, authentication: authentication)
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    authentication.fail(error)
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return channelInitializer(channel)
            }
            .connect(host: host, port: port)
        let channel: any Channel
        do {
            channel = try await connected.get()
        } catch {
            // No handler will complete it now; a promise left open would trap in debug builds.
            authentication.fail(error)
            throw error
        }
        let peer = try await authentication.futureResult.get()
        return Connection(channel: channel, peer: peer)
    }
}

/// The `SSL_CTX` of a ``SecureChannel``: given, or made by the first caller that needs it
/// and then shared.
private final class TLSContextSource: Sendable {
    private let made: Mutex<TLSContext?>
    private let make: @Sendable () throws -> TLSContext

    init(context: TLSContext) {
        made = Mutex(context)
        make = { context }
    }

    init(making make: @escaping @Sendable () throws -> TLSContext) {
        made = Mutex(nil)
        self.make = make
    }

    func context() throws -> TLSContext {
        try made.withLock { made throws -> TLSContext in
            if let made { return made }
            let context = try make()
            made = context
            return context
        }
    }
}
