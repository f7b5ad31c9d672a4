import DBus
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// DNS-SD through avahi-daemon's D-Bus API on the system bus: announces with an entry
/// group, browses and resolves with Avahi 0.8's `…Prepare`/`Start` objects, and follows the
/// daemon when it restarts (re-announcing and re-browsing by itself).
///
/// All of Avahi's signals arrive on one subscription made before any Avahi object exists,
/// so none is lost and they are handled in the order Avahi sent them.
public actor AvahiBackend: DiscoveryBackend {
    /// Which interfaces to use and how much a busy network may cost us.
    public struct Options: Sendable, Hashable {
        /// Only these interfaces (by name), or nil for all that Avahi uses.
        public var allowedInterfaces: Set<String>?
        /// Never these interfaces, even when allowed.
        public var deniedInterfaces: Set<String>
        /// Resolutions in flight at once; more wait in a queue.
        public var maxPendingResolutions: Int
        /// Instances tracked at once; beyond that new ones are logged and ignored.
        public var maxServices: Int
        /// Resolvers kept open after their first answer so that changes of address, port
        /// or TXT arrive; beyond this a resolver is closed after answering.
        public var maxWatchedResolutions: Int
        /// How long one call to avahi-daemon may take.
        public var callTimeout: Duration

        public init(
            allowedInterfaces: Set<String>? = nil, deniedInterfaces: Set<String> = [],
            maxPendingResolutions: Int = 64, maxServices: Int = 512, maxWatchedResolutions: Int = 128,
            callTimeout: Duration = .seconds(5)
        ) {
            self.allowedInterfaces = allowedInterfaces
            self.deniedInterfaces = deniedInterfaces
            self.maxPendingResolutions = max(1, maxPendingResolutions)
            self.maxServices = max(1, maxServices)
            self.maxWatchedResolutions = max(0, maxWatchedResolutions)
            self.callTimeout = callTimeout
        }

        /// Whether services on `interfaceName` are ours to see and announce on.
        /// The same rules as the built-in backend's ``InterfaceFilter``: names or `prefix*`,
        /// an allow list overriding the deny list.
        public func permits(_ interfaceName: String) -> Bool {
            InterfaceFilter(allow: allowedInterfaces.map { Array($0) } ?? [], deny: Array(deniedInterfaces)).permits(interfaceName)
        }
    }

    public nonisolated let name = "avahi"
    /// The bus name avahi-daemon owns.
    public static let busName = Avahi.busName

    let connection: DBusConnection
    let options: Options
    let logger: Logger
    private let ownsConnection: Bool
    private let busLabel: String
    private var pumps: [Task<Void, Never>] = []

    // The daemon
    var daemonOwner: String?
    var serverState: Avahi.ServerState = .invalid
    /// Bumped whenever the daemon goes or comes back: object paths of an older generation
    /// mean nothing any more, so work started before must not record them.
    var generation = 0
    var isShutDown = false
    var interfaceNames: [Int32: String] = [:]

    // Publishing
    var announcement: ServiceAnnouncement?
    var currentInstanceName: String?
    var group: DBusObjectPath?
    var groupState: Avahi.GroupState = .uncommitted
    var groupNeedsRegistration = false
    var isRegistering = false
    var lastGroupProblem: String?
    var renameCount = 0

    // Browsing
    var streams: [Int: AsyncStream<DiscoveryEvent>.Continuation] = [:]
    var nextStream = 0
    var browser: DBusObjectPath?
    var isStartingBrowser = false
    var browserProblem: String?
    var instances: [String: AvahiInstance] = [:]
    var resolverOwners: [DBusObjectPath: AvahiSightingKey] = [:]
    var pendingResolutions = 0
    var watchedResolutions = 0
    var resolutionQueue: [AvahiSightingKey] = []
    var droppedServices = 0
    var resolutionSerial = 0
    /// `ServiceResolverPrepare` calls whose reply is not handled yet.
    var preparingResolvers = 0
    /// Resolver signals that came before we knew their object's path (see
    /// ``keepEarlyResolverSignal(_:_:_:)``), oldest first, at most ``maxEarlyResolverSignals``.
    var earlyResolverSignals: [AvahiEarlySignal] = []

    private init(connection: DBusConnection, ownsConnection: Bool, busLabel: String, options: Options, logger: Logger) {
        self.connection = connection
        self.ownsConnection = ownsConnection
        self.busLabel = busLabel
        self.options = options
        self.logger = logger
    }

    /// Whether avahi-daemon owns `org.freedesktop.Avahi` on this bus (for the `auto` backend).
    public static func isAvailable(on connection: DBusConnection) async -> Bool {
        guard let owner = try? await connection.nameOwner(busName) else { return false }
        return !owner.isEmpty
    }

    /// Connects to `bus` (the system bus unless a test names another) and starts following
    /// Avahi. Throws ``AvahiError`` with code `.busUnavailable` or `.notRunning`.
    public static func connect(
        bus: DBusBusAddress = .system, options: Options = Options(),
        logger: Logger = Logger(label: "peercollab.discovery.avahi")
    ) async throws(AvahiError) -> AvahiBackend {
        let label = Self.label(bus)
        let connection: DBusConnection
        do {
            connection = try DBusConnection(bus: bus)
        } catch {
            throw .busUnavailable(bus: label, error)
        }
        do {
            return try await start(
                connection: connection, ownsConnection: true, busLabel: label, options: options, logger: logger)
        } catch {
            connection.close()
            throw error
        }
    }

    /// Uses an existing connection (which stays open after ``shutdown()``).
    public static func make(
        connection: DBusConnection, options: Options = Options(),
        logger: Logger = Logger(label: "peercollab.discovery.avahi")
    ) async throws(AvahiError) -> AvahiBackend {
        try await start(
            connection: connection, ownsConnection: false, busLabel: "the system bus", options: options,
            logger: logger)
    }

    private static func label(_ bus: DBusBusAddress) -> String {
        switch bus {
        case .system: return "the system bus"
        case .session: return "the session bus"
        case .address(let address): return "the bus at \(address)"
        }
    }

    private static func start(
        connection: DBusConnection, ownsConnection: Bool, busLabel: String, options: Options, logger: Logger
    ) async throws(AvahiError) -> AvahiBackend {
        let backend = AvahiBackend(
            connection: connection, ownsConnection: ownsConnection, busLabel: busLabel, options: options,
            logger: logger)
        try await backend.follow()
        return backend
    }

    /// Subscribes before looking: a daemon that appears in between is then seen either way.
    private func follow() async throws(AvahiError) {
        let avahiSignals: AsyncStream<DBusMessage>
        let ownerChanges: AsyncStream<DBusMessage>
        do {
            avahiSignals = try await connection.subscribe(to: DBusMatchRule(sender: Avahi.busName))
            ownerChanges = try await connection.subscribe(
                to: DBusMatchRule(
                    sender: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                    interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        } catch {
            throw .busUnavailable(bus: busLabel, error)
        }
        pumps.append(Task { [weak self] in
            for await message in avahiSignals {
                guard let self else { return }
                await self.handleAvahiSignal(message)
            }
        })
        pumps.append(Task { [weak self] in
            for await message in ownerChanges {
                guard let self else { return }
                await self.handleOwnerChange(message)
            }
        })
        let owner: String?
        do {
            owner = try await connection.nameOwner(Avahi.busName)
        } catch {
            stopPumps()
            throw .busUnavailable(bus: busLabel, error)
        }
        guard let owner, !owner.isEmpty else {
            stopPumps()
            throw .notRunning(bus: busLabel)
        }
        if daemonOwner == nil { await daemonAppeared(owner) }
    }

    private func stopPumps() {
        for pump in pumps { pump.cancel() }
        pumps = []
    }

    // MARK: DiscoveryBackend

    public func publish(_ service: ServiceAnnouncement) async throws {
        guard !isShutDown else { throw AvahiError.shutDown }
        try Self.validate(service)
        guard daemonOwner != nil else { throw AvahiError.notRunning(bus: busLabel) }
        if announcement?.instanceName != service.instanceName || currentInstanceName == nil {
            currentInstanceName = service.instanceName
            renameCount = 0
        }
        announcement = service
        groupNeedsRegistration = true
        try await ensurePublished()
    }

    public func withdraw() async {
        announcement = nil
        currentInstanceName = nil
        groupNeedsRegistration = false
        lastGroupProblem = nil
        guard let group, daemonOwner != nil else { return }
        // Reset withdraws the records, which makes Avahi send goodbyes.
        _ = try? await callObject(group, Avahi.entryGroup, "Reset")
        groupState = .uncommitted
    }

    public func browse() async throws -> AsyncStream<DiscoveryEvent> {
        guard !isShutDown else { throw AvahiError.shutDown }
        let (stream, continuation) = AsyncStream<DiscoveryEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        nextStream += 1
        let id = nextStream
        streams[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.dropStream(id) }
        }
        for instance in instances.values.sorted(by: { $0.name < $1.name }) {
            if let service = instance.lastEmitted { continuation.yield(.found(service)) }
        }
        if daemonOwner == nil {
            logger.warning("Browsing waits for avahi-daemon, which is not running")
        }
        await ensureBrowsing()
        return stream
    }

    private func dropStream(_ id: Int) {
        streams[id] = nil
    }

    public func refresh() async {
        guard !isShutDown, daemonOwner != nil, let old = browser else { return }
        // Avahi has no "ask again": a new browser sends a fresh query, and what it no longer
        // reports before AllForNow is gone.
        browser = nil
        _ = try? await callObject(old, Avahi.serviceBrowser, "Free")
        forgetSightings(markStale: true)
        await ensureBrowsing()
    }

    public func shutdown() async {
        guard !isShutDown else { return }
        await withdraw()
        isShutDown = true
        if daemonOwner != nil {
            var objects = Array(resolverOwners.keys).map { ($0, Avahi.serviceResolver) }
            if let browser { objects.append((browser, Avahi.serviceBrowser)) }
            if let group { objects.append((group, Avahi.entryGroup)) }
            for (path, interface) in objects { _ = try? await callObject(path, interface, "Free") }
        }
        browser = nil
        group = nil
        resolverOwners = [:]
        resolutionQueue = []
        for continuation in streams.values { continuation.finish() }
        streams = [:]
        stopPumps()
        if ownsConnection { connection.close() }
    }

    // MARK: State for tests and doctor

    /// The instance name we announce under now (after renames), or nil.
    public var announcedInstanceName: String? { announcement == nil ? nil : currentInstanceName }

    /// Whether Avahi reports our announcement as established on the network.
    public var isAnnouncementEstablished: Bool { announcement != nil && groupState == .established }

    // MARK: Daemon coming and going

    private func handleOwnerChange(_ message: DBusMessage) async {
        let arguments = message.arguments()
        guard arguments.count == 3, arguments[0].stringValue == Avahi.busName,
            let newOwner = arguments[2].stringValue
        else { return }
        if newOwner.isEmpty {
            daemonVanished()
        } else if newOwner != daemonOwner {
            if daemonOwner != nil { daemonVanished() }
            await daemonAppeared(newOwner)
        }
    }

    private func daemonVanished() {
        guard daemonOwner != nil else { return }
        logger.warning("avahi-daemon left the bus; announcing and browsing resume when it returns")
        generation += 1
        daemonOwner = nil
        serverState = .invalid
        group = nil
        groupState = .uncommitted
        if announcement != nil { groupNeedsRegistration = true }
        browser = nil
        isStartingBrowser = false
        interfaceNames = [:]
        forgetSightings(markStale: true)
        let vanishedGeneration = generation
        // Services are kept for a while so that a quick restart does not make peers flicker.
        Task { [weak self] in
            try? await Task.sleep(for: .seconds(15))
            await self?.expireStale(ifStillGeneration: vanishedGeneration)
        }
    }

    private func daemonAppeared(_ owner: String) async {
        guard !isShutDown else { return }
        generation += 1
        daemonOwner = owner
        let thisGeneration = generation
        logger.info("avahi-daemon is on the bus as \(owner)")
        if let state = try? await callServer("GetState").first?.int32Value,
            generation == thisGeneration, serverState == .invalid
        {
            serverState = Avahi.ServerState(rawValue: state) ?? .invalid
        }
        await ensureBrowsing()
        try? await ensurePublished()
    }

    func expireStale(ifStillGeneration expected: Int) {
        guard generation == expected else { return }
        for (name, instance) in instances where instance.isStale && instance.sightings.isEmpty {
            instances[name] = nil
            if instance.lastEmitted != nil { emit(.lost(instanceName: name)) }
        }
    }

    // MARK: Signals

    private func handleAvahiSignal(_ message: DBusMessage) async {
        guard !isShutDown, let interface = message.interface, interface.hasPrefix("org.freedesktop.Avahi."),
            let pathText = message.path, let member = message.member
        else { return }
        // A sender check: a well-known sender in a match rule cannot be checked locally.
        if let owner = daemonOwner, let sender = message.sender, sender != owner { return }
        guard let path = try? DBusObjectPath(pathText) else { return }
        let arguments = message.arguments()
        switch interface {
        case Avahi.server where member == "StateChanged":
            guard let raw = arguments.first?.int32Value, let state = Avahi.ServerState(rawValue: raw) else { return }
            await serverStateChanged(state)
        case Avahi.entryGroup where member == "StateChanged" && path == group:
            guard let raw = arguments.first?.int32Value, let state = Avahi.GroupState(rawValue: raw) else { return }
            let error = arguments.count > 1 ? arguments[1].stringValue ?? "" : ""
            await groupStateChanged(state, error: error)
        case Avahi.serviceBrowser where path == browser:
            await browserSignal(member, arguments)
        case Avahi.serviceResolver:
            guard let key = resolverOwners[path] else {
                keepEarlyResolverSignal(path, member, arguments)
                return
            }
            await resolverSignal(member, arguments, path: path, key: key)
        default:
            return
        }
    }

    private func serverStateChanged(_ state: Avahi.ServerState) async {
        let previous = serverState
        serverState = state
        logger.debug("Avahi server state: \(state.label)")
        switch state {
        case .registering, .collision:
            // The host name changes, and with it the SRV target: Avahi's own clients reset
            // their groups here and add them again once the server runs.
            if let group, previous == .running {
                _ = try? await callObject(group, Avahi.entryGroup, "Reset")
                groupState = .uncommitted
                if announcement != nil { groupNeedsRegistration = true }
            }
        case .running:
            try? await ensurePublished()
        case .invalid, .failure:
            break
        }
    }

    // MARK: Calls

    func callServer(_ member: String, _ arguments: [DBusValue] = [], interface: String = Avahi.server)
        async throws -> [DBusValue]
    {
        try await connection.call(
            destination: Avahi.busName, path: Avahi.serverPath, interface: interface, member: member,
            arguments: arguments, timeout: options.callTimeout)
    }

    @discardableResult
    func callObject(_ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue] = [])
        async throws -> [DBusValue]
    {
        try await connection.call(
            destination: Avahi.busName, path: path, interface: interface, member: member, arguments: arguments,
            timeout: options.callTimeout)
    }

    /// The name of an interface in the daemon's network namespace: Avahi says it, so this is
    /// right even when we run elsewhere (tests); `if_indextoname` is the fallback.
    func interfaceName(_ index: Int32) async -> String {
        if let known = interfaceNames[index] { return known }
        var name = ""
        if let reply = try? await callServer("GetNetworkInterfaceNameByIndex", [.int32(index)]),
            let text = reply.first?.stringValue
        {
            name = text
        } else {
            var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
            if if_indextoname(UInt32(bitPattern: index), &buffer) != nil {
                name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        if !name.isEmpty, interfaceNames.count < 256 { interfaceNames[index] = name }
        return name
    }

    func emit(_ event: DiscoveryEvent) {
        for continuation in streams.values { continuation.yield(event) }
    }
}
