import DBus
import Logging

/// The `auto` choice: Avahi whenever avahi-daemon is on the system bus, else the built-in
/// responder, and a move to Avahi as soon as avahi-daemon appears.
///
/// Choosing once, when discovery first starts, was not enough: avahi-daemon often comes
/// later (boot order, socket or D-Bus activation by another program, a restart during an
/// upgrade), and the built-in responder then shared UDP 5353 with it for as long as the
/// daemon ran: two responders on one host, which Avahi warns makes mDNS unreliable. When
/// avahi-daemon leaves the bus and stays away for ``fallbackDelay``, the built-in responder
/// takes over again.
public actor AutoDiscoveryBackend: DiscoveryBackend {
    public nonisolated let name = "auto"
    /// How long avahi-daemon may be gone (a restart) before the built-in responder takes over.
    public static let fallbackDelay: Duration = .seconds(30)
    /// After a move, services the old backend knew and the new one has not reported by then
    /// are lost.
    public static let moveGrace: Duration = .seconds(10)

    private let systemBus: DBusBusAddress
    private let connectAvahi: @Sendable () async throws -> any DiscoveryBackend
    private let makeBuiltin: @Sendable () -> any DiscoveryBackend
    private let logger: Logger

    private var current: any DiscoveryBackend
    /// Why `current` was chosen, for `doctor`.
    private var reason: String
    /// The last reason Avahi could not be used while it was on the bus, for `doctor`.
    private var avahiProblem: String?
    private var avahiOwner: String?
    private var watchConnection: DBusConnection?
    private var watcher: Task<Void, Never>?
    private var fallbackTimer: Task<Void, Never>?
    private var isMoving = false
    /// While the old backend shuts down in a move: calls then only record what they want,
    /// and the move applies it to the new backend.
    private var isReplacing = false
    /// The `pumpSerial` a `browse()` of the current backend is under way for.
    private var startingPumpFor: Int?
    private var moves = 0

    private var announcement: ServiceAnnouncement?
    private var streams: [Int: AsyncStream<DiscoveryEvent>.Continuation] = [:]
    private var nextStream = 0
    private var pump: Task<Void, Never>?
    private var pumpSerial = 0
    /// What the streams were last told about each service, so that a late browser and a
    /// move start from it.
    private var known: [String: DiscoveredService] = [:]
    /// Known before the last move and not reported by the new backend yet.
    private var unconfirmed: Set<String> = []
    private var isShutDown = false

    private init(
        systemBus: DBusBusAddress, current: any DiscoveryBackend, reason: String,
        connectAvahi: @escaping @Sendable () async throws -> any DiscoveryBackend,
        makeBuiltin: @escaping @Sendable () -> any DiscoveryBackend, logger: Logger
    ) {
        self.systemBus = systemBus
        self.current = current
        self.reason = reason
        self.connectAvahi = connectAvahi
        self.makeBuiltin = makeBuiltin
        self.logger = logger
    }

    /// Starts with Avahi when it can be used now, else with the built-in responder, and
    /// follows avahi-daemon on `systemBus` from then on.
    public static func start(
        systemBus: DBusBusAddress,
        connectAvahi: @escaping @Sendable () async throws -> any DiscoveryBackend,
        makeBuiltin: @escaping @Sendable () -> any DiscoveryBackend,
        logger: Logger = Logger(label: "peercollab.discovery.auto")
    ) async -> AutoDiscoveryBackend {
        // Watch before looking, so that a daemon appearing in between is seen either way.
        let watch = await Self.watchAvahi(on: systemBus, logger: logger)
        let first: any DiscoveryBackend
        let reason: String
        var problem: String?
        do {
            first = try await connectAvahi()
            reason = "avahi-daemon is on the system bus"
            logger.info("Using Avahi for discovery: org.freedesktop.Avahi is on the system bus")
        } catch {
            first = makeBuiltin()
            let owned = watch.owner != nil
            reason = owned ? "avahi-daemon is on the system bus but could not be used" : "avahi-daemon is not on the system bus"
            if owned { problem = "\(error)" }
            logger.info("Using the built-in mDNS responder: \(reason) (\(error))")
        }
        let backend = AutoDiscoveryBackend(
            systemBus: systemBus, current: first, reason: reason, connectAvahi: connectAvahi,
            makeBuiltin: makeBuiltin, logger: logger)
        await backend.follow(watch, problem: problem)
        return backend
    }

    private struct Watch: Sendable {
        var connection: DBusConnection?
        var changes: AsyncStream<DBusMessage>?
        var owner: String?
    }

    private static func watchAvahi(on bus: DBusBusAddress, logger: Logger) async -> Watch {
        do {
            let connection = try DBusConnection(bus: bus)
            do {
                let changes = try await connection.subscribe(
                    to: DBusMatchRule(
                        sender: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
                        member: "NameOwnerChanged", arg0: Avahi.busName))
                let owner = try await connection.nameOwner(Avahi.busName)
                return Watch(connection: connection, changes: changes, owner: owner.flatMap { $0.isEmpty ? nil : $0 })
            } catch {
                connection.close()
                throw error
            }
        } catch {
            logger.notice("Not following avahi-daemon: the system bus is not usable (\(error))")
            return Watch()
        }
    }

    private var usesAvahi: Bool { current.name == "avahi" }

    private func follow(_ watch: Watch, problem: String?) {
        watchConnection = watch.connection
        avahiOwner = watch.owner
        avahiProblem = problem
        guard let changes = watch.changes else { return }
        watcher = Task { [weak self] in
            for await message in changes {
                let arguments = message.arguments()
                guard arguments.count == 3, arguments[0].stringValue == Avahi.busName,
                    let newOwner = arguments[2].stringValue
                else { continue }
                await self?.avahiOwnerChanged(newOwner.isEmpty ? nil : newOwner)
            }
        }
    }

    private func avahiOwnerChanged(_ owner: String?) async {
        guard !isShutDown else { return }
        avahiOwner = owner
        fallbackTimer?.cancel()
        fallbackTimer = nil
        if owner != nil {
            avahiProblem = nil
            await moveToAvahi()
        } else if usesAvahi {
            // The Avahi backend follows a restart by itself; only a long absence moves us.
            fallbackTimer = Task { [weak self] in
                try? await Task.sleep(for: Self.fallbackDelay)
                guard !Task.isCancelled else { return }
                await self?.fallBackToBuiltin()
            }
        }
    }

    private func moveToAvahi() async {
        guard !isShutDown, !usesAvahi, !isMoving else { return }
        isMoving = true
        defer { isMoving = false }
        let avahi: any DiscoveryBackend
        do {
            avahi = try await connectAvahi()
        } catch {
            avahiProblem = "\(error)"
            logger.warning("avahi-daemon is on the system bus, but Avahi cannot be used; staying with the built-in responder: \(error)")
            return
        }
        logger.notice("avahi-daemon appeared on the system bus: discovery moves to Avahi, which then has UDP port 5353 to itself")
        await move(to: avahi, reason: "avahi-daemon is on the system bus (it appeared after discovery started)")
    }

    private func fallBackToBuiltin() async {
        guard !isShutDown, usesAvahi, avahiOwner == nil, !isMoving else { return }
        isMoving = true
        defer { isMoving = false }
        logger.notice("avahi-daemon has left the system bus: discovery moves to the built-in responder until it returns")
        await move(to: makeBuiltin(), reason: "avahi-daemon left the system bus")
    }

    /// Withdraws and stops the old backend first (its goodbyes go out, and port 5353 is
    /// free), then announces and browses with the new one.
    private func move(to next: any DiscoveryBackend, reason: String) async {
        let old = current
        pump?.cancel()
        pump = nil
        pumpSerial += 1
        isReplacing = true
        await old.shutdown()
        isReplacing = false
        current = next
        self.reason = reason
        moves += 1
        guard !isShutDown else {
            await next.shutdown()
            return
        }
        if let announcement {
            do {
                try await next.publish(announcement)
            } catch {
                logger.error("Failed to announce through \(next.name) after the move: \(error)")
            }
        }
        guard !streams.isEmpty else {
            // Nobody browses: the next browser starts from what the new backend reports.
            known = [:]
            unconfirmed = []
            return
        }
        unconfirmed = Set(known.keys)
        // A browse() while we announced may have started it already.
        if pump == nil {
            do {
                try await startPump()
            } catch {
                logger.error("Failed to browse through \(next.name) after the move: \(error)")
            }
        }
        let serial = pumpSerial
        Task { [weak self] in
            try? await Task.sleep(for: Self.moveGrace)
            await self?.expireUnconfirmed(ifStill: serial)
        }
    }

    private func expireUnconfirmed(ifStill serial: Int) {
        guard serial == pumpSerial else { return }
        for name in unconfirmed.sorted() {
            known[name] = nil
            emit(.lost(instanceName: name))
        }
        unconfirmed = []
    }

    /// Browses the current backend once for all our streams; a second call while one is
    /// under way does nothing, and one overtaken by a move drops what it got.
    private func startPump() async throws {
        let serialBefore = pumpSerial
        guard pump == nil, startingPumpFor != serialBefore else { return }
        startingPumpFor = serialBefore
        defer { if startingPumpFor == serialBefore { startingPumpFor = nil } }
        let events = try await current.browse()
        guard serialBefore == pumpSerial, pump == nil else { return }
        pumpSerial += 1
        let serial = pumpSerial
        pump = Task { [weak self] in
            for await event in events {
                await self?.forward(event, serial: serial)
            }
        }
    }

    private func forward(_ event: DiscoveryEvent, serial: Int) {
        guard serial == pumpSerial, !isShutDown else { return }
        switch event {
        case .found(let service):
            known[service.instanceName] = service
            unconfirmed.remove(service.instanceName)
        case .lost(let name):
            known[name] = nil
            unconfirmed.remove(name)
        case .renamed:
            break
        }
        emit(event)
    }

    private func emit(_ event: DiscoveryEvent) {
        for continuation in streams.values { continuation.yield(event) }
    }

    // MARK: DiscoveryBackend

    public func publish(_ service: ServiceAnnouncement) async throws {
        guard !isShutDown else { throw AvahiError.shutDown }
        announcement = service
        guard !isReplacing else { return }
        try await current.publish(service)
    }

    public func withdraw() async {
        announcement = nil
        guard !isReplacing else { return }
        await current.withdraw()
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
        for service in known.values.sorted(by: { $0.instanceName < $1.instanceName }) {
            continuation.yield(.found(service))
        }
        if pump == nil, !isReplacing {
            do {
                try await startPump()
            } catch {
                streams[id] = nil
                throw error
            }
        }
        return stream
    }

    private func dropStream(_ id: Int) {
        streams[id] = nil
    }

    /// Also tries Avahi again when it is on the bus but could not be used before.
    public func refresh() async {
        if !usesAvahi, avahiOwner != nil { await moveToAvahi() }
        guard !isReplacing else { return }
        await current.refresh()
    }

    /// The current backend's checks, after one that says which backend `auto` chose and why.
    public func diagnose() async -> DiscoveryDiagnosis {
        let inner = await current.diagnose()
        var detail = "auto chose \(current.name): \(reason)"
        if moves > 0 { detail += "; moved \(moves) time(s) since discovery started" }
        var choice = DiscoveryDiagnosis.Check(subject: "discovery backend", ok: true, detail: detail)
        if !usesAvahi, avahiOwner != nil {
            choice.ok = false
            choice.detail += "; avahi-daemon is on the system bus but Avahi could not be used: \(avahiProblem ?? "unknown error")"
            choice.advice = "Two mDNS responders on one host make discovery unreliable. Fix what the error says, or set the discovery backend to avahi and restart peercollab."
        } else if !usesAvahi, watchConnection == nil {
            choice.detail += "; the system bus cannot be reached, so a later avahi-daemon would not be noticed"
        } else if !usesAvahi {
            choice.detail += "; moves to Avahi when avahi-daemon appears on the system bus"
        }
        return DiscoveryDiagnosis(backend: inner.backend, checks: [choice] + inner.checks)
    }

    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        watcher?.cancel()
        watcher = nil
        fallbackTimer?.cancel()
        fallbackTimer = nil
        watchConnection?.close()
        watchConnection = nil
        pump?.cancel()
        pump = nil
        pumpSerial += 1
        await current.shutdown()
        for continuation in streams.values { continuation.finish() }
        streams = [:]
    }

    // MARK: State for tests

    /// The backend in use now: "avahi" or "builtin".
    public var currentBackendName: String { current.name }
}
