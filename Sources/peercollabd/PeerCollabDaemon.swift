import ArgumentParser
import Collaboration
import DBus
@_spi(DaemonExecutors) import DaemonRuntime
import FoundationEssentials
import Logging
import PeerCollabAPI
import PeerSecurity
import ServiceLifecycle
import Synchronization
import Systemd
#if canImport(Glibc)
import Glibc
#endif

@main
struct PeerCollabDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peercollabd",
        abstract: "The peercollab daemon: people near me, contacts, presence and invitations over D-Bus.",
        discussion: """
            peercollabd owns org.peercollab.PeerCollab1 on the user's session bus. It is normally \
            started by systemd --user (peercollab.service) or by D-Bus activation, not by hand. \
            Drive it with peercollabctl or busctl --user.

            Settings live in $XDG_CONFIG_HOME/peercollab, keys and contacts in \
            $XDG_DATA_HOME/peercollab. Set PEERCOLLAB_LOG_LEVEL (trace … critical) for more or \
            less logging. SIGTERM stops it cleanly; SIGHUP re-reads the settings.
            """,
        version: ProductVersion.current
    )

    /// Installs the daemon's own executors before anything awaits, then runs the command and
    /// exits without coming back here: this function's hops to the main actor were fixed
    /// before the executors were replaced (see `DaemonExecutors`).
    static func main() async {
        DaemonExecutors.install()
        fixMallocTrimThreshold()
        raiseOpenFileLimit()
        await parseRunAndExit()
    }

    /// glibc raises its mmap threshold each time a large block is freed (a big D-Bus reply,
    /// ~9 MB for 10,000 contacts), and with it the free memory it keeps in the arenas: after
    /// such replies the daemon held 60–90 MB more than it used. A fixed threshold (128 KiB,
    /// glibc's starting value) gives large blocks back at once. `mallopt` is reached through
    /// dlsym because Swift's Glibc module leaves out `<malloc.h>`.
    /// Every peer costs a descriptor: the soft limit (often 1,024) goes up to the hard one,
    /// so that a crowd of strangers runs into the daemon's own bounds before the kernel's.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    private static func fixMallocTrimThreshold() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        guard let symbol = dlsym(nil, "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 128 * 1024)
    }

    private nonisolated static func parseRunAndExit() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            exit(withError: error)
        }
    }

    func validate() throws {
        if let port, !(0...65535).contains(port) {
            throw ValidationError("--port must be between 0 and 65535.")
        }
        if let peerTimeout, !(3...3600).contains(peerTimeout) {
            throw ValidationError("--peer-timeout must be between 3 and 3600 seconds.")
        }
        if let discovery, !DiscoveryBackends.names.contains(discovery) {
            throw ValidationError("--discovery must be one of \(DiscoveryBackends.names.joined(separator: ", ")).")
        }
    }

    @Option(name: .customLong("bus"), help: ArgumentHelp("Connect to the bus at this address instead of the session bus.", valueName: "address"))
    var busAddress: String?

    @Option(name: .customLong("config-dir"), help: ArgumentHelp("Keep settings in this folder.", valueName: "path"))
    var configDirectory: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Keep keys and contacts in this folder.", valueName: "path"))
    var dataDirectory: String?

    @Option(name: .customLong("port"), help: ArgumentHelp("Listen for peers on this TCP port (0: any free port). Default: \(PeerNetworkService.defaultPort), or a free port chosen once if that is taken and kept for later starts.", valueName: "port"))
    var port: Int?

    @Option(name: .customLong("listen"), help: ArgumentHelp("Listen for peers on this address only (default: every address, IPv4 and IPv6).", valueName: "address"))
    var listenAddress: String?

    @Option(name: .customLong("discovery"), help: ArgumentHelp("How to find peers near me: auto (Avahi when it runs, else built in), avahi or builtin.", valueName: "backend"))
    var discovery: String?

    @Option(name: .customLong("interfaces"), help: ArgumentHelp("Use only these network interfaces for discovery (comma-separated; prefix* allowed).", valueName: "names"))
    var interfaces: String?

    @Option(name: .customLong("system-bus"), help: ArgumentHelp("The system bus address (for Avahi, logind, NetworkManager) instead of the default.", valueName: "address"))
    var systemBusAddress: String?

    @Option(name: .customLong("peer-timeout"), help: ArgumentHelp("Drop a peer that has been silent this many seconds (keepalives go out at a third of it; default 50).", valueName: "seconds"))
    var peerTimeout: Int?

    @Option(name: .customLong("print-introspection"), help: ArgumentHelp("Print the introspection XML of this interface (as kept in dbus/) and exit.", valueName: "interface"))
    var printIntrospection: String?

    func run() async throws {
        if let printIntrospection {
            let documents = Introspection.documents()
            guard let document = documents[printIntrospection] else {
                throw ValidationError("No interface \(printIntrospection); the daemon has \(documents.keys.sorted().joined(separator: ", ")).")
            }
            print(document, terminator: "")
            return
        }
        SystemdLogging.bootstrap(identifier: "peercollabd")
        let logger = Logger(label: "peercollabd")
        let configuration = DaemonConfiguration(
            bus: busAddress.map(DBusBusAddress.address) ?? .session,
            configDirectory: configDirectory.map { URL(filePath: $0) }
                ?? DaemonConfiguration.xdgDirectory("XDG_CONFIG_HOME", fallback: ".config"),
            dataDirectory: dataDirectory.map { URL(filePath: $0) }
                ?? DaemonConfiguration.xdgDirectory("XDG_DATA_HOME", fallback: ".local/share"),
            port: port, listenAddress: listenAddress,
            discoveryBackend: discovery,
            allowInterfaces: interfaces.map { $0.split(separator: ",").map(String.init) },
            systemBus: systemBusAddress.map(DBusBusAddress.address) ?? .system,
            peerTimeout: peerTimeout.map { .seconds(Int64($0)) })
        do {
            try await Self.serve(configuration, logger: logger)
        } catch let error as BusLost {
            logger.critical("\(error)")
            throw ExitCode(BusLost.exitStatus)
        } catch {
            logger.critical("\(error)")
            _ = try? SystemdNotifier.status("Failed: \(error)")
            throw ExitCode.failure
        }
    }

    private static func serve(_ configuration: DaemonConfiguration, logger: Logger) async throws {
        // Signals are taken by a thread of ours: SIGTERM and SIGINT stop the services
        // gracefully, SIGHUP goes to ReloadService.
        let (hangups, hangupContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let shutdown = ShutdownTrigger()
        let signals = try SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { signal in
            if signal == SIGHUP {
                hangupContinuation.yield()
            } else {
                shutdown.trigger()
            }
        }
        defer { signals.stop() }
        let dataFolder = try DataFolderLock(configuration.dataDirectory.path, logger: logger)
        defer { dataFolder.release() }
        let identity: LocalIdentity
        do {
            identity = try LocalIdentity.open(directory: configuration.dataDirectory.path)
        } catch {
            throw DaemonError("Failed to load my identity from \(configuration.dataDirectory.path): \(error)")
        }
        if let refused = identity.refusedAtStart {
            logger.error("\(refused) Serving meanwhile; signing in waits for the key.", metadata: ["peer_name": "\(identity.peerName)"])
        }
        logger.info(
            identity.isLoaded ? "Identity loaded" : "Identity known from its summary; the key is loaded when first needed",
            metadata: ["peer_name": "\(identity.peerName)", "fingerprint": "\(identity.fingerprint)"])
        let collaboration = try Collaboration(
            store: SettingsStore(directory: configuration.configDirectory),
            dataDirectory: configuration.dataDirectory.path,
            identity: identity,
            accountName: AccountName.current(),
            logger: logger)
        let network = PeerNetworkService(
            collaboration: collaboration, identity: identity, listenAddress: configuration.listenAddress,
            port: configuration.port, peerTimeout: configuration.peerTimeout,
            dataDirectory: configuration.dataDirectory.path, logger: logger)
        try await network.start()
        // An accepted invitation whose applications still use channels outlives its retention.
        await collaboration.setInvitationInUse { [channels = network.channels] id in !channels.listing(of: id).isEmpty }
        // Listener and dialer are there: sign in again where the user was (kept settings).
        await collaboration.restoreSignIn()
        let settings = await collaboration.discoverySettings
        let choice = configuration.discoveryBackend ?? settings.backend ?? "auto"
        let allow = configuration.allowInterfaces ?? settings.allow ?? []
        let systemBus = configuration.systemBus
        let discovery = DiscoveryService(
            collaboration: collaboration, systemEvents: SystemEvents(bus: systemBus, logger: logger), logger: logger
        ) {
            try await DiscoveryBackends.make(choice: choice, allow: allow, deny: settings.deny, systemBus: systemBus, logger: logger)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: BusService(
                    configuration: configuration, collaboration: collaboration, discovery: discovery, channels: network.channels,
                    network: network, logger: logger),
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: ReloadService(collaboration: collaboration, hangups: hangups, logger: logger)),
            .init(service: DomainTimerService(collaboration: collaboration)),
            .init(service: discovery),
            .init(
                service: AutoIdleService(collaboration: collaboration, systemEvents: SystemEvents(bus: systemBus, logger: logger)),
                successTerminationBehavior: .ignore),
            .init(
                service: network,
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let watchdog = Watchdog(logger: logger) {
            services.append(.init(service: WatchdogService(watchdog: watchdog)))
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        shutdown.attach(group)
        try await group.run()
    }
}

/// Delivers SIGTERM/SIGINT to the service group, also when one comes before the group exists
/// (the group remembers a shutdown requested before it runs).
private final class ShutdownTrigger: Sendable {
    private let state = Mutex<(group: ServiceGroup?, requested: Bool)>((nil, false))

    func trigger() {
        let group = state.withLock { state -> ServiceGroup? in
            state.requested = true
            return state.group
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    func attach(_ group: ServiceGroup) {
        let requested = state.withLock { state -> Bool in
            state.group = group
            return state.requested
        }
        if requested { Task { await group.triggerGracefulShutdown() } }
    }
}
