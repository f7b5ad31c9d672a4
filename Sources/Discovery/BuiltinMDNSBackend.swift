import Logging
import NIOCore

/// The built-in mDNS/DNS-SD backend (RFC 6762/6763), used when no avahi-daemon runs: it
/// shares UDP port 5353 with any other responder, publishes one `_peercollab._tcp`
/// service and browses for the others on the interfaces its filter lets through, following
/// interface and address changes from netlink. The protocol logic lives in `MDNSResponder`
/// and `MDNSBrowser`; this actor owns the sockets, the timer and the subscribers.
public actor BuiltinMDNSBackend: DiscoveryBackend {
    /// How the backend behaves; the defaults suit a desktop.
    public struct Configuration: Sendable, Hashable {
        /// Interface names or `prefix*` patterns to use exclusively (empty: all that pass `deny`).
        public var allowInterfaces: [String]
        /// Interface patterns left out unless allowed: container and VM plumbing by default.
        public var denyInterfaces: [String]
        /// Record TTLs we announce (shorten in tests to see expiry quickly).
        public var ttls: MDNSResponder.TTLs
        /// Bounds on what browsing tracks.
        public var limits: MDNSBrowser.Limits
        public var useIPv4: Bool
        public var useIPv6: Bool

        public init(
            allowInterfaces: [String] = [], denyInterfaces: [String] = InterfaceFilter.defaultDeny,
            ttls: MDNSResponder.TTLs = .init(), limits: MDNSBrowser.Limits = .init(), useIPv4: Bool = true, useIPv6: Bool = true
        ) {
            self.allowInterfaces = allowInterfaces
            self.denyInterfaces = denyInterfaces
            self.ttls = ttls
            self.limits = limits
            self.useIPv4 = useIPv4
            self.useIPv6 = useIPv6
        }

        var filter: InterfaceFilter { InterfaceFilter(allow: allowInterfaces, deny: denyInterfaces) }
    }

    public nonisolated let name = "builtin"
    public nonisolated let configuration: Configuration
    let logger: Logger

    var responder: MDNSResponder
    var browser: MDNSBrowser
    var sockets: [MDNSFamily: MDNSSocket] = [:]
    var receiveLoop: MDNSReceiveLoop?
    var consumer: Task<Void, Never>?
    var timer: (deadline: NIODeadline, task: Task<Void, Never>)?
    /// Every interface seen, used or not (for `diagnose`).
    var allInterfaces: [MDNSInterface] = []
    var activeInterfaces: [Int32: MDNSInterface] = [:]
    var memberships: Set<Membership> = []
    var subscribers: [Int: AsyncStream<DiscoveryEvent>.Continuation] = [:]
    var nextSubscriber = 0
    var isShutDown = false
    /// When our own multicast last came back to us per interface (diagnose: loopback works).
    var lastEcho: [Int32: NIODeadline] = [:]
    var droppedOffLink = 0
    var droppedMalformed = 0

    struct Membership: Hashable {
        var interfaceIndex: Int32
        var family: MDNSFamily
    }

    /// A backend that opens its sockets on first use (publish, browse or refresh).
    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "peercollab.discovery.builtin")) {
        self.configuration = configuration
        self.logger = logger
        self.responder = MDNSResponder(ttls: configuration.ttls)
        self.browser = MDNSBrowser(limits: configuration.limits)
    }

    // MARK: - DiscoveryBackend

    public func publish(_ service: ServiceAnnouncement) async throws {
        try start()
        logger.info("publishing on mDNS", metadata: ["instance": "\(service.instanceName)", "port": "\(service.port)"])
        perform(responder: responder.publish(service, now: .now()))
    }

    public func withdraw() async {
        perform(responder: responder.withdraw(now: .now()))
    }

    public func browse() async throws -> AsyncStream<DiscoveryEvent> {
        try start()
        let (stream, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self, bufferingPolicy: .bufferingNewest(4096))
        for service in browser.services { continuation.yield(.found(service)) }
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        if !browser.isBrowsing {
            browser.start(now: .now())
            reschedule()
        } else {
            // Browsing went on while nobody listened (signed out), its queries backed off to
            // minutes: a new browse asks the link at once (QU), as a first query would, so that
            // a peer whose announcement was missed is found now rather than at the next query.
            perform(browser: browser.refresh(now: .now()))
        }
        return stream
    }

    public func refresh() async {
        guard !isShutDown, receiveLoop != nil else { return }
        updateInterfaces()
        perform(browser: browser.refresh(now: .now()))
    }

    public func shutdown() async {
        guard !isShutDown else { return }
        await withdraw()
        isShutDown = true
        timer?.task.cancel()
        timer = nil
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
        await receiveLoop?.stop()
        receiveLoop = nil
        consumer?.cancel()
        sockets = [:]
    }

    private func unsubscribe(_ id: Int) {
        subscribers[id] = nil
    }

    // MARK: - Sockets and interfaces

    private func start() throws {
        guard !isShutDown else { throw MDNSError.shutDown }
        guard receiveLoop == nil else { return }
        var opened: [MDNSFamily: MDNSSocket] = [:]
        if configuration.useIPv4 { opened[.ipv4] = try MDNSSocket(family: .ipv4) }
        if configuration.useIPv6 {
            do {
                opened[.ipv6] = try MDNSSocket(family: .ipv6)
            } catch {
                logger.warning("mDNS over IPv6 is unavailable, continuing with IPv4", metadata: ["error": "\(error)"])
            }
        }
        let netlink = NetlinkWatcher()
        if netlink == nil { logger.warning("cannot watch interface changes (netlink); call refresh() after network changes") }
        let loop = try MDNSReceiveLoop(sockets: Array(opened.values), netlink: netlink)
        sockets = opened
        receiveLoop = loop
        updateInterfaces()
        loop.start()
        consumer = Task { [weak self] in
            for await event in loop.events {
                guard let self else { return }
                await self.handle(event)
            }
        }
    }

    private func handle(_ event: MDNSReceiveLoop.Event) {
        switch event {
        case .interfacesChanged:
            updateInterfaces()
        case .packet(let bytes, let source, let interfaceIndex):
            receive(bytes, from: source, on: interfaceIndex)
        }
    }

    /// Lists the interfaces again, joins and leaves the group, and tells the state machines.
    func updateInterfaces() {
        allInterfaces = InterfaceList.current()
        let filter = configuration.filter
        let used = allInterfaces.filter { filter.exclusionReason(for: $0) == nil }
        let next = Dictionary(used.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        guard next != activeInterfaces else { return }
        activeInterfaces = next
        var wanted = Set<Membership>()
        for interface in used {
            if sockets[.ipv4] != nil, !interface.ipv4Addresses.isEmpty { wanted.insert(Membership(interfaceIndex: interface.index, family: .ipv4)) }
            if sockets[.ipv6] != nil, !interface.ipv6Addresses.isEmpty { wanted.insert(Membership(interfaceIndex: interface.index, family: .ipv6)) }
        }
        for membership in memberships.subtracting(wanted) {
            // The interface may be gone already, which also ends the membership.
            try? sockets[membership.family]?.setMembership(false, interfaceIndex: membership.interfaceIndex)
        }
        for membership in wanted.subtracting(memberships) {
            do {
                try sockets[membership.family]?.setMembership(true, interfaceIndex: membership.interfaceIndex)
            } catch {
                logger.warning("cannot join the mDNS group", metadata: ["interface": "\(membership.interfaceIndex)", "error": "\(error)"])
                wanted.remove(membership)
            }
        }
        memberships = wanted
        logger.info("mDNS interfaces", metadata: ["used": "\(used.map(\.name).sorted())"])
        let now = NIODeadline.now()
        perform(responder: responder.setInterfaces(used, now: now))
        perform(browser: browser.setInterfaces(used, now: now))
    }

    private func receive(_ bytes: [UInt8], from source: MDNSEndpoint, on interfaceIndex: Int32) {
        guard let interface = activeInterfaces[interfaceIndex] else { return }
        // RFC 6762 §11: only packets from this link.
        guard interface.isOnLink(source.address) else {
            droppedOffLink += 1
            logger.debug("dropped an mDNS packet from off the link", metadata: ["source": "\(source)"])
            return
        }
        let now = NIODeadline.now()
        if interface.addresses.contains(where: { $0.bytes == source.address }) { lastEcho[interfaceIndex] = now }
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: bytes)
        } catch {
            droppedMalformed += 1
            logger.debug("dropped a malformed mDNS packet", metadata: ["source": "\(source)", "error": "\(error)"])
            return
        }
        let packet = MDNSIncomingPacket(message: message, source: source, interfaceIndex: interfaceIndex)
        perform(responder: responder.receive(packet, now: now))
        if browser.isBrowsing { perform(browser: browser.receive(packet, now: now)) }
    }

    // MARK: - Actions and the timer

    func perform(responder actions: [MDNSResponder.Action]) {
        for action in actions {
            switch action {
            case .send(let packet): send(packet)
            case .renamed(let name): broadcast(.renamed(name))
            case .log(let text): logger.notice("\(text)")
            }
        }
        reschedule()
    }

    func perform(browser actions: [MDNSBrowser.Action]) {
        for action in actions {
            switch action {
            case .send(let packet): send(packet)
            case .found(let service): broadcast(.found(service))
            case .lost(let instance): broadcast(.lost(instanceName: instance))
            case .log(let text): logger.warning("\(text)")
            }
        }
        reschedule()
    }

    private func broadcast(_ event: DiscoveryEvent) {
        for continuation in subscribers.values { continuation.yield(event) }
    }

    func send(_ packet: MDNSOutgoingPacket) {
        guard let interface = activeInterfaces[packet.interfaceIndex] else { return }
        let bytes: [UInt8]
        do {
            bytes = try packet.message.encoded()
        } catch {
            logger.error("cannot encode an mDNS message", metadata: ["error": "\(error)"])
            return
        }
        var targets: [(MDNSFamily, MDNSEndpoint)] = []
        switch packet.destination {
        case .unicast(let endpoint):
            targets.append((endpoint.family, endpoint))
        case .multicast(let family):
            if family != .ipv6, !interface.ipv4Addresses.isEmpty { targets.append((.ipv4, MDNSEndpoint(address: MDNSSocket.ipv4Group, port: 5353))) }
            if family != .ipv4, !interface.ipv6Addresses.isEmpty { targets.append((.ipv6, MDNSEndpoint(address: MDNSSocket.ipv6Group, port: 5353))) }
        }
        for (family, endpoint) in targets {
            guard let socket = sockets[family] else { continue }
            do {
                try socket.send(bytes, to: endpoint, interfaceIndex: packet.interfaceIndex)
            } catch {
                logger.debug("mDNS send failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Makes sure the timer wakes no later than the state machines' next deadline. A timer
    /// already set to wake earlier is kept (it finds nothing due, or less, and sets itself
    /// again), so the timer task is replaced only when the deadline moves earlier: on a
    /// crowded link the deadline moves with nearly every packet.
    private func reschedule() {
        guard !isShutDown else { return }
        let deadline = [responder.nextDeadline, browser.nextDeadline].compactMap { $0 }.min()
        guard let deadline else { return }
        if let timer, timer.deadline <= deadline { return }
        timer?.task.cancel()
        let task = Task { [weak self] in
            let wait = deadline - .now()
            if wait > .zero {
                do { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) } catch { return }
            }
            await self?.tick(scheduled: deadline)
        }
        timer = (deadline, task)
    }

    private func tick(scheduled: NIODeadline) {
        guard timer?.deadline == scheduled else { return }
        timer = nil
        let now = NIODeadline.now()
        perform(responder: responder.timerFired(now: now))
        perform(browser: browser.timerFired(now: now))
    }
}
