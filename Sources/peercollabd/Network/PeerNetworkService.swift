import Collaboration
import Discovery
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity
import ServiceLifecycle
import Synchronization

/// Listens for peers on TCP (IPv4 and IPv6), dials them for the domain, and runs every
/// connection through TLS 1.3 → frames → session → ``PeerChannelHandler``. One event-loop
/// thread: peer traffic is small, and an idle loop sleeps without timers.
final class PeerNetworkService: Service, Sendable {
    /// Not in /etc/services; chosen to stay clear of well-known ports.
    static let defaultPort = 46773

    private let collaboration: Collaboration
    /// The links' application channels, shared with the bus.
    let channels: ChannelHub
    private let secureChannel: SecureChannel
    private let listenAddress: String?
    private let port: Int?
    private let session: PeerSessionConfiguration
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let nextLinkID = Atomic<Int>(0)
    private let handshakes = Mutex(HandshakeAdmission())
    /// Dropped connections, logged a line per 10 s however many.
    private let drops: DropLog
    private let listener = Mutex<(any Channel)?>(nil)
    /// Partial frames of every session together (``PartialFrameBudget``).
    private let partialFrames = PartialFrameBudget()
    /// What was refused, for `Diagnose`.
    private let refusals = NetworkRefusals()
    private let keptPort: KeptPort
    /// How the port was chosen at start, for `Diagnose`.
    private let portChoice = Mutex(PortChoice.given)

    enum PortChoice: Sendable {
        /// `--port`.
        case given
        /// The default port was free.
        case `default`
        /// The port kept from an earlier start.
        case kept(Int)
        /// Chosen now, `taken` being busy, and kept.
        case chosen(Int, taken: Int)
        /// Chosen now and not kept (the file failed).
        case unkept(Int, taken: Int, String)
    }

    /// `port` nil: the port kept from an earlier start, else the default; if that is taken, a
    /// free port, kept for later starts (``KeptPort``). An explicit port must be free.
    init(
        collaboration: Collaboration, identity: LocalIdentity, listenAddress: String?, port: Int?,
        peerTimeout: TimeAmount?, dataDirectory: String, logger: Logger
    ) {
        keptPort = KeptPort(dataDirectory: dataDirectory)
        var session = PeerSessionConfiguration()
        if let peerTimeout {
            session.idleTimeout = peerTimeout
            session.keepaliveInterval = .nanoseconds(peerTimeout.nanoseconds / 3)
        }
        self.session = session
        self.collaboration = collaboration
        self.channels = ChannelHub(collaboration: collaboration)
        self.secureChannel = SecureChannel(identity: identity)
        self.listenAddress = listenAddress
        self.port = port
        self.logger = logger
        drops = DropLog(logger: logger)
    }

    /// Binds the listener and gives the domain its endpoints and a dialer; done before the
    /// bus name is taken, so that the first caller finds the network ready.
    func start() async throws {
        let channel = try await bind()
        listener.withLock { $0 = channel }
        logger.info("Listening for peers", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        await collaboration.setEndpoints(endpoints(port: channel.localAddress?.port ?? 0))
        await collaboration.setDialer { [self] endpoint, peerName, scope, within in
            try await self.dial(endpoint, expecting: peerName, scope: scope, within: within)
        }
    }

    func run() async throws {
        guard let listener = listener.withLock({ $0 }) else { try await start(); return try await run() }
        // The group cancels instead of shutting down gracefully when another service ends
        // first (the bus went away): both must close the listener, or the daemon never exits.
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await listener.closeFuture.get()
            } onCancel: {
                listener.close(promise: nil)
            }
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
        await collaboration.disconnectAll(.shuttingDown)
        try? await group.shutdownGracefully()
    }

    /// The `port choice` and `peer connections` checks of `Diagnose`.
    func checks() async -> [DiscoveryDiagnosis.Check] {
        let file = keptPort.path
        let choice: DiscoveryDiagnosis.Check =
            switch portChoice.withLock({ $0 }) {
            case .given: .init(subject: "port choice", ok: true, detail: "the port given with --port")
            case .default: .init(subject: "port choice", ok: true, detail: "the default port \(Self.defaultPort)")
            case .kept(let port):
                .init(
                    subject: "port choice", ok: true,
                    detail: "port \(port), chosen at an earlier start when \(Self.defaultPort) was taken and kept in \(file)",
                    advice: "Firewall rules must allow TCP \(port). To go back to \(Self.defaultPort), free it and remove \(file).")
            case .chosen(let port, let taken):
                .init(
                    subject: "port choice", ok: true, detail: "port \(port), chosen at this start because \(taken) was taken, and kept in \(file)",
                    advice: "Firewall rules must allow TCP \(port). To go back to \(Self.defaultPort), free it and remove \(file).")
            case .unkept(let port, let taken, let error):
                .init(
                    subject: "port choice", ok: false, detail: "port \(port), chosen because \(taken) was taken, for this run only: \(error)",
                    advice: "Cards and links made now go stale at the next start: make \(file) writable, or choose a port with --port.")
            }
        return [choice, refusals.check(strangersRefused: await collaboration.refusedStrangers)]
    }

    private func endpoints(port: Int) -> [ContactEndpoint] {
        guard let port = UInt16(exactly: port) else { return [] }
        if let listenAddress, listenAddress != "::", listenAddress != "0.0.0.0" {
            return [ContactEndpoint(host: listenAddress, port: port)]
        }
        return LocalAddresses.current().map { ContactEndpoint(host: $0, port: port) }
    }

    private func bind() async throws -> any Channel {
        let logger = self.logger
        let refusals = self.refusals
        let bootstrap = secureChannel.serverBootstrap(group: group) { [self] channel in
            self.acceptedChannel(channel)
        }.serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AcceptPause(failures: AcceptFailures(logger: logger, refusals: refusals)))
            }
        }
        let hosts = listenAddress.map { [$0] } ?? ["::", "0.0.0.0"]
        let kept = port == nil ? keptPort.read() : nil
        let wanted = port ?? kept ?? Self.defaultPort
        var lastError: (any Error)?
        for host in hosts {
            do {
                let channel = try await bootstrap.bind(host: host, port: wanted).get()
                portChoice.withLock { $0 = kept.map { .kept($0) } ?? (port == nil ? .default : .given) }
                return channel
            } catch {
                lastError = error
                if port == nil, let channel = try? await bootstrap.bind(host: host, port: 0).get() {
                    let chosen = channel.localAddress?.port ?? 0
                    do {
                        try keptPort.write(chosen)
                        logger.warning(
                            "Port \(wanted) is taken; listening on \(chosen) instead, from now on (kept in \(keptPort.path), so that cards, links and firewall rules stay right)",
                            metadata: ["port": "\(chosen)"])
                        portChoice.withLock { $0 = .chosen(chosen, taken: wanted) }
                    } catch {
                        logger.error(
                            "Port \(wanted) is taken; listening on \(chosen) for this run only, as it could not be kept: \(error)",
                            metadata: ["port": "\(chosen)"])
                        portChoice.withLock { $0 = .unkept(chosen, taken: wanted, "\(error)") }
                    }
                    return channel
                }
            }
        }
        throw DaemonError("Failed to listen for peers on \(hosts.joined(separator: " or ")) port \(wanted): \(lastError.map { "\($0)" } ?? "unknown error"). Choose another with --port.")
    }

    private func acceptedChannel(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard collaboration.isAcceptingIncoming else {
            drops.dropped(
                "Refused a peer connection: not signed in", address: channel.remoteAddress?.ipAddress ?? "unknown", metadata: [:],
                on: channel.eventLoop)
            return channel.close()
        }
        // The source address without its port: the unit one host cannot exceed.
        let source = channel.remoteAddress?.ipAddress ?? "unknown"
        guard handshakes.withLock({ $0.admit(source) }) else {
            refusals.note(.handshakeFull)
            drops.dropped(
                "Too many connections are still handshaking; dropping a new one", address: source, metadata: [:], on: channel.eventLoop)
            return channel.close()
        }
        let registered = OneShot<Void>()
        Task { [self] in
            _ = try? await registered.value
            self.handshakes.withLock { $0.release(source) }
        }
        return addSessionHandlers(to: channel, isOutgoing: false, scope: nil, registered: registered)
    }

    /// `scope` nil: the domain decides (an incoming connection).
    private func addSessionHandlers(
        to channel: any Channel, isOutgoing: Bool, scope: Scope?, registered: OneShot<Void>
    ) -> EventLoopFuture<Void> {
        let linkID = nextLinkID.wrappingAdd(1, ordering: .relaxed).newValue
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(PeerFrameDecoder(budget: partialFrames)))
            try sync.addHandler(PeerSessionHandler(hello: PeerGreeting.hello, configuration: session))
            // Channel messages stop here; everything else goes on to the domain.
            try sync.addHandler(LinkChannels(linkID: linkID, hub: channels, logger: logger))
            let listeningPort = listener.withLock { $0?.localAddress?.port }.flatMap { UInt16(exactly: $0) }
            try sync.addHandler(PeerChannelHandler(
                linkID: linkID, isOutgoing: isOutgoing, scope: scope, listeningPort: listeningPort, collaboration: collaboration,
                logger: logger, drops: drops, refusals: refusals, registered: registered))
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    /// Dials, proves the key, greets, and returns once the domain holds the link; gives up
    /// (and closes) when that takes longer than `within`, so that a listener that accepts
    /// and stays silent holds a dial no longer than the rules allow.
    func dial(_ endpoint: ContactEndpoint, expecting peerName: PeerName, scope: Scope, within: Duration) async throws {
        let registered = OneShot<Void>()
        let deadline = TimeAmount.nanoseconds(within.components.seconds * 1_000_000_000 + within.components.attoseconds / 1_000_000_000)
        let timedOut = CollaborationError(.peerUnreachable, "Failed to reach \(peerName) at \(endpoint): no answer within \(within)")
        let deadlinePassed = Atomic<Bool>(false)
        do {
            _ = try await secureChannel.clientConnect(
                group: group, host: endpoint.host, port: Int(endpoint.port), expecting: peerName
            ) { [self] channel in
                channel.eventLoop.scheduleTask(in: deadline) {
                    guard registered.resolve(.failure(timedOut)) else { return }
                    deadlinePassed.store(true, ordering: .relaxed)
                    channel.close(promise: nil)
                }
                return self.addSessionHandlers(to: channel, isOutgoing: true, scope: scope, registered: registered)
            }
            try await registered.value
        } catch let error as CollaborationError {
            throw error
        } catch {
            // Closing at the deadline fails the connect with "I/O on closed channel": say why.
            if deadlinePassed.load(ordering: .relaxed) { throw timedOut }
            throw CollaborationError(.peerUnreachable, "Failed to reach \(peerName) at \(endpoint): \(DialFailure.words(error))")
        }
    }
}
