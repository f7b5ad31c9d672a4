import Collaboration
import Discovery
import Logging
import NIOCore
import PeerSecurity
import ServiceLifecycle

/// Connects the domain's near-me scope to a DNS-SD backend: announces and browses while I
/// am signed in near me, turns announcements into `nearbyServiceFound/Lost` calls (the
/// domain decides whom to dial), and re-announces on resume and network changes.
actor DiscoveryService: Service {
    private let collaboration: Collaboration
    private let makeBackend: @Sendable () async throws -> any DiscoveryBackend
    private let systemEvents: SystemEvents
    private let logger: Logger
    private var backend: (any DiscoveryBackend)?
    private var backendError: String?
    private var browsing: Task<Void, Never>?
    private var announcedPort: UInt16 = 0

    init(
        collaboration: Collaboration, systemEvents: SystemEvents, logger: Logger,
        makeBackend: @escaping @Sendable () async throws -> any DiscoveryBackend
    ) {
        self.collaboration = collaboration
        self.systemEvents = systemEvents
        self.logger = logger
        self.makeBackend = makeBackend
    }

    nonisolated func run() async throws {
        let events = await collaboration.events()
        // Signed in near me before this ran (sign-in kept from the last run): start now.
        if await collaboration.signedIn.contains(.nearMe) { await start() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in events {
                        await self.handle(event)
                    }
                }
                group.addTask {
                    await self.systemEvents.watch { [collaboration = self.collaboration] reason in
                        await collaboration.recheckPeers(because: reason)
                        await self.refresh(because: reason)
                        // Contacts over the internet scope are dialled again at once too.
                        await collaboration.networkChanged()
                    }
                }
                await group.waitForAll()
            }
        }
        await stop()
    }

    private func handle(_ event: CollaborationEvent) async {
        switch event {
        case .nearMeChanged(signedIn: true):
            await start()
        case .nearMeChanged(signedIn: false):
            await withdraw()
        case .managerChanged(_, let fields) where fields.contains(.displayName) || fields.contains(.endpoints):
            if browsing != nil { await announce() }
        default:
            break
        }
    }

    private func start() async {
        guard browsing == nil else { return }
        do {
            let backend = try await currentBackend()
            await announce()
            let stream = try await backend.browse()
            browsing = Task { [collaboration, logger] in
                for await event in stream {
                    switch event {
                    case .found(let service):
                        guard let nearby = Self.nearbyService(service) else {
                            logger.debug("Ignoring an announcement without a valid peer name", metadata: ["instance": "\(service.instanceName)"])
                            continue
                        }
                        await collaboration.nearbyServiceFound(nearby)
                    case .lost(let instanceName):
                        await collaboration.nearbyServiceLost(instanceName: instanceName)
                    case .renamed(let name):
                        logger.notice("Our announcement was renamed after a name conflict", metadata: ["instance": "\(name)"])
                    }
                }
            }
            logger.info("Announcing and looking for peers near me", metadata: ["backend": "\(backend.name)"])
        } catch {
            backendError = "\(error)"
            logger.error("Failed to start discovery near me: \(error)")
        }
    }

    private func announce() async {
        guard let backend else { return }
        let port = await collaboration.endpoints.first?.port ?? 0
        let (instance, txt) = await collaboration.nearMeAnnouncement(port: port)
        do {
            try await backend.publish(ServiceAnnouncement(instanceName: instance, port: port, txt: txt))
            announcedPort = port
        } catch {
            logger.error("Failed to announce near me: \(error)")
        }
    }

    private func withdraw() async {
        browsing?.cancel()
        browsing = nil
        await backend?.withdraw()
    }

    private func stop() async {
        await withdraw()
        await backend?.shutdown()
        backend = nil
    }

    private func refresh(because reason: String) async {
        guard browsing != nil, let backend else { return }
        logger.info("Looking again for peers near me", metadata: ["reason": "\(reason)"])
        await announce()
        await backend.refresh()
    }

    private func currentBackend() async throws -> any DiscoveryBackend {
        if let backend { return backend }
        let made = try await makeBackend()
        backend = made
        backendError = nil
        return made
    }

    /// For `Diagnose`: the backend's own checks, or why there is none.
    /// Nothing goes on the network before I sign in near me, diagnosis included: a backend's
    /// checks send multicast, so they run only while signed in.
    func diagnose() async -> DiscoveryDiagnosis {
        guard await collaboration.signedIn.contains(.nearMe) else {
            return DiscoveryDiagnosis(backend: backend?.name ?? "not started", checks: [
                .init(subject: "discovery", ok: true,
                      detail: "not signed in near me: nothing is announced, and the multicast checks were not run"),
            ])
        }
        // Signed in near me but not looking: try again now (what stood in the way may be
        // gone), and say plainly that near me does not work, and why, if it still fails.
        if browsing == nil { await start() }
        let nearMe: DiscoveryDiagnosis.Check? =
            browsing == nil
            ? .init(
                subject: "near me", ok: false,
                detail: "signed in near me, but discovery could not start, so nobody near me sees me or is seen: \(backendError ?? "unknown error")",
                advice: "See the checks below; once fixed, peercollabctl doctor tries again (or sign out and in: peercollabctl signout near-me && peercollabctl signin near-me).")
            : nil
        do {
            let report = await (try await currentBackend()).diagnose()
            return DiscoveryDiagnosis(backend: report.backend, checks: (nearMe.map { [$0] } ?? []) + report.checks)
        } catch {
            return DiscoveryDiagnosis(backend: "none", checks: (nearMe.map { [$0] } ?? []) + [
                .init(subject: "discovery backend", ok: false, detail: "\(error)",
                      advice: "Install and start avahi-daemon, or set the discovery backend to builtin."),
            ])
        }
    }

    /// An announcement as the domain takes it: TXT `pn` must be a valid peer name, and only
    /// addresses on my own links are kept, at the port the SRV record names. Anyone can
    /// announce any address; without this a claim could make the daemon connect (and send a
    /// TLS ClientHello) anywhere, off-link hosts and my own loopback services included.
    static func nearbyService(_ service: DiscoveredService) -> NearbyService? {
        guard let text = service.txt["pn"], let name = try? PeerName(parsing: text) else { return nil }
        let seenOnLoopback = service.interfaceName == "lo"
        let onLink = service.addresses.filter { isOnMyLink($0, seenOnLoopback: seenOnLoopback) }
        let endpoints = onLink.map { ContactEndpoint(host: $0, port: service.port) }
        return NearbyService(instanceName: service.instanceName, claimedPeerName: name, endpoints: endpoints, nameHint: service.txt["dn"] ?? "")
    }

    /// Whether `host` lies in the subnet of one of my interfaces (IPv6 link-local always
    /// does); a loopback address only when the announcement itself came over loopback.
    static func isOnMyLink(_ host: String, seenOnLoopback: Bool) -> Bool {
        let bare = host.split(separator: "%", maxSplits: 1).first.map(String.init) ?? host
        guard let address = try? SocketAddress(ipAddress: bare, port: 0) else { return false }
        if bare.hasPrefix("127.") || bare == "::1" { return seenOnLoopback }
        return LocalAddresses.isOnLocalNetwork(address)
    }
}
