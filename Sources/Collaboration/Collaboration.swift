import PeerSessions
import Logging
import Synchronization
import PeerProtocol
import PeerSecurity

/// The single source of truth of the daemon: the local user's identity and settings, the
/// peers reachable now (and, as they arrive, contacts, presence and invitations). D-Bus and
/// network code call in and translate its events; they decide nothing themselves.
public actor Collaboration {
    let store: SettingsStore
    /// Contacts, published objects and registered applications; written before any reply.
    let database: CollaborationStore
    var settings: Settings
    /// Failed writes of the store and the settings, for the log and `Diagnose`.
    let writeFailures: StoreWriteFailures
    let accountName: String
    let logger: Logger
    /// Who I am; the key never leaves PeerSecurity, and is loaded when first needed.
    public nonisolated let identity: LocalIdentity
    /// Where peers reach me, as the network layer found it.
    public internal(set) var endpoints: [ContactEndpoint] = []
    /// Who hears of every change at once (``observe(_:)``), and who reads it later (``events()``).
    var observers: [@Sendable (CollaborationEvent) -> Void] = []
    var subscribers: [Int: AsyncStream<CollaborationEvent>.Continuation] = [:]
    var nextSubscriber = 0
    /// Peers by id (their peer name), and which link carries each.
    var peers: [String: RemotePeer] = [:]
    var linkRegistry = LinkRegistry<any PeerLink>()
    /// `Connect` calls waiting for a connected peer's profile, by peer id.
    var shownWaiters: [String: [(token: UInt64, continuation: CheckedContinuation<Bool, Never>)]] = [:]
    var nextShownWaiter: UInt64 = 0
    /// When a refused stranger was last logged.
    var lastStrangerLog: ContinuousClock.Instant?
    /// Dials a peer in a scope, giving up after the duration; set by the network layer once it runs.
    public typealias Dialer = @Sendable (ContactEndpoint, PeerName, Scope, Duration) async throws -> Void
    var dialer: Dialer?
    /// The scopes I am signed in to.
    public internal(set) var signedIn: Set<Scope> = [] {
        didSet { acceptingIncoming.store(!signedIn.isEmpty, ordering: .relaxed) }
    }
    /// Mirrors "signed in anywhere" for the network layer's accept path, which cannot wait.
    let acceptingIncoming = Atomic<Bool>(false)
    /// Announcements seen near me, and the dials they lead to (the session layer's rules).
    var nearbyDials = NearbyDials<ContactEndpoint>()
    /// Contacts by peer name (also their object id), as stored.
    var contacts: [String: ContactRecord] = [:]
    /// My presence as others see it.
    var presence = PeerPresence(status: .online)
    /// Why signing in again at start to the kept scopes failed, for `Diagnose` (nil: it did not).
    public internal(set) var signInRestoreProblem: String?
    /// What I set with SetPresence (`presence` shows `idle` instead while logind says idle).
    var userPresence = PeerPresence(status: .online)
    var isIdleHinted = false
    /// Per link: whether its peer follows me, what it was shown, its rate limit.
    var linkSubscriptions: [Int: LinkSubscription] = [:]
    /// My object requests under way, and peers' objects fetched before.
    var objectFetches = ObjectFetches(perLink: Collaboration.maximumObjectFetchesPerLink)
    /// The objects I publish, by id, as stored.
    var publishedObjects: [String: ObjectRecord] = [:]
    /// Applications registered with me, by id, as stored.
    var applications: [String: ApplicationRecord] = [:]
    /// When each contact was last heard from while the daemon runs (µs since the epoch).
    var contactLastSeen: [String: UInt64] = [:]
    /// Contacts' pinned keys, parsed on first use (dropped when the record changes).
    var contactKeys: [String: ContactKey] = [:]
    /// Internet scope: when to dial each contact (the session layer's rules).
    var contactDials = ContactDials()
    /// Invitations both ways, with their deadlines and waiting callers (Collaboration+Invitations.swift).
    var invitationBook = InvitationBook()
    /// Whether an accepted invitation's channels are open (the session layer says).
    var invitationInUse: (@Sendable (String) -> Bool)?
    /// The time every rule reads.
    let clock: any DomainClock
    /// Every deadline the domain keeps; the owner's one timer runs to the earliest.
    var timetable = Timetable<DomainDeadline>()
    /// Told the earliest deadline whenever it changes (the owner's timer re-arms).
    var deadlineObserver: (@Sendable (ContinuousClock.Instant?) -> Void)?
    private var announcedDeadline: ContinuousClock.Instant?

    /// Loads the settings and opens the store in `dataDirectory`; throws if either exists but
    /// cannot be read (a damaged store is moved aside and logged, a newer one refused).
    public init(
        store: SettingsStore, dataDirectory: String, identity: LocalIdentity, accountName: String, logger: Logger,
        clock: any DomainClock = SystemClock()
    ) throws {
        self.clock = clock
        self.store = store
        let database: CollaborationStore
        do {
            database = try CollaborationStore(directory: dataDirectory)
        } catch {
            throw CollaborationError.failed(error.message)
        }
        self.database = database
        let writeFailures = StoreWriteFailures(logger: logger)
        database.database.writeFailures = writeFailures
        self.writeFailures = writeFailures
        if let copy = database.damagedCopy {
            logger.error(
                "The database was damaged; it was moved aside and an empty one started",
                metadata: ["path": "\(database.path)", "damaged_copy": "\(copy)"])
        }
        self.identity = identity
        self.accountName = accountName
        self.logger = logger
        self.settings = try store.load()
        do {
            contacts = Dictionary(uniqueKeysWithValues: try database.allContacts().map { ($0.peerName, $0) })
            publishedObjects = Dictionary(uniqueKeysWithValues: try database.allObjects().map { ($0.id, $0) })
            applications = Dictionary(uniqueKeysWithValues: try database.allApplications().map { ($0.id, $0) })
        } catch {
            throw CollaborationError.failed(error.message)
        }
        Self.logIgnored(settings, at: store.url.path, logger: logger)
    }

    // MARK: Time

    /// Tells `observer` the earliest deadline now and whenever it changes: the owner runs
    /// one timer to it and calls ``deadlinesPassed()`` when it fires.
    public func observeDeadlines(_ observer: @escaping @Sendable (ContinuousClock.Instant?) -> Void) {
        deadlineObserver = observer
        announcedDeadline = timetable.earliest
        observer(announcedDeadline)
    }

    /// The earliest deadline the domain keeps, if any.
    public var nextDeadline: ContinuousClock.Instant? { timetable.earliest }

    /// Acts on every deadline that is due by the clock now.
    public func deadlinesPassed() {
        // Bounded: what a due deadline arms anew is for later, or waits for the next call.
        for key in timetable.takeDue(at: clock.now) { deadlinePassed(key) }
        // Always said, also when unchanged: the owner's timer fired and waits for its next.
        announcedDeadline = timetable.earliest
        deadlineObserver?(announcedDeadline)
    }

    private func deadlinePassed(_ key: DomainDeadline) {
        switch key {
        case .invitation(let id): invitationTimerFired(id)
        case .objectFetch(let requestID): objectFetchTimedOut(requestID)
        case .floodFlush(let linkID): flushDropped(linkID)
        case .nearbyDials: carryOut(nearbyDials.deadlinePassed(now: clock.now))
        case .contactDials: carryOutContactRounds(contactDials.deadlinePassed(now: clock.now))
        case .profileWait(let token): profileWaitEnded(token)
        }
    }

    func schedule(_ key: DomainDeadline, after delay: Duration) {
        timetable.set(key, at: clock.now + delay)
        deadlinesMoved()
    }

    func schedule(_ key: DomainDeadline, at deadline: ContinuousClock.Instant) {
        timetable.set(key, at: deadline)
        deadlinesMoved()
    }

    func cancelDeadline(_ key: DomainDeadline) {
        timetable.cancel(key)
        deadlinesMoved()
    }

    private func deadlinesMoved() {
        let earliest = timetable.earliest
        guard earliest != announcedDeadline else { return }
        announcedDeadline = earliest
        deadlineObserver?(earliest)
    }

    /// Whether incoming peer connections are welcome (signed in to some scope); callable
    /// from any thread.
    public nonisolated var isAcceptingIncoming: Bool { acceptingIncoming.load(ordering: .relaxed) }

    // MARK: Events

    /// Calls `observer` with every event from now on, on this actor, in order, before the
    /// call that caused it returns (the D-Bus layer: signals go out before replies). It must
    /// not block: it translates and queues, nothing more.
    ///
    /// First, in the same turn, it hears of everything there is now as if it had just been
    /// added (applications, contacts, shown peers, invitations), so that it starts from the
    /// same state the events then change, with nothing missed in between.
    public func observe(_ observer: @escaping @Sendable (CollaborationEvent) -> Void) {
        for id in applications.keys.sorted() { if let record = applications[id] { observer(.applicationAdded(record)) } }
        for id in contacts.keys.sorted() { if let contact = contact(id) { observer(.contactAdded(contact)) } }
        for peer in allPeers { if let view = peerView(peer.id) { observer(.peerAdded(view)) } }
        for invitation in allInvitations { if let view = invitationView(invitation.id) { observer(.invitationAdded(view)) } }
        observers.append(observer)
    }

    /// A stream of everything that changes from now on, for work that may wait (discovery,
    /// notifications); what clients see goes through ``observe(_:)``.
    public func events() -> AsyncStream<CollaborationEvent> {
        let (stream, continuation) = AsyncStream<CollaborationEvent>.makeStream(bufferingPolicy: .unbounded)
        nextSubscriber += 1
        let id = nextSubscriber
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        subscribers[id] = nil
    }

    /// Tells observers and subscribers what changed, with views taken now. Only that: what
    /// follows from a change inside the domain (a contact mirroring its peer, invitations
    /// following a name, a redial) is called by the method that made the change.
    func announce(_ change: DomainChange) {
        guard let event = event(for: change) else { return }
        for observer in observers { observer(event) }
        for subscriber in subscribers.values { subscriber.yield(event) }
    }

    private func event(for change: DomainChange) -> CollaborationEvent? {
        switch change {
        case .managerChanged(let fields): .managerChanged(localUser, fields)
        case .nearMeChanged(let signedIn): .nearMeChanged(signedIn: signedIn)
        case .peerAdded(let id): peerView(id).map(CollaborationEvent.peerAdded)
        case .peerChanged(let id, let fields): peerView(id).map { .peerChanged($0, fields) }
        case .peerRemoved(let id, let shown): shown == nil ? nil : .peerRemoved(id)
        case .contactAdded(let id): contact(id).map(CollaborationEvent.contactAdded)
        case .contactChanged(let id, let fields): contact(id).map { .contactChanged($0, fields) }
        case .contactRemoved(let id): .contactRemoved(id)
        case .applicationAdded(let id): applications[id].map(CollaborationEvent.applicationAdded)
        case .applicationChanged(let id): applications[id].map(CollaborationEvent.applicationChanged)
        case .applicationRemoved(let id): .applicationRemoved(id)
        case .invitationAdded(let id): invitationView(id).map(CollaborationEvent.invitationAdded)
        case .invitationChanged(let id, let fields): invitationView(id).map { .invitationChanged($0, fields) }
        case .invitationRemoved(let id): .invitationRemoved(id)
        case .invitationReceived(let id): invitationView(id).map(CollaborationEvent.invitationReceived)
        case .invitationNotificationsChanged(let enabled): .invitationNotificationsChanged(enabled: enabled)
        }
    }

    /// The local user as clients see it now.
    public var localUser: LocalUserView {
        LocalUserView(
            peerName: identity.peerName, fingerprint: identity.fingerprint, displayName: displayName, email: email,
            signedIn: signedIn.sorted(), presence: presence, invitationPolicy: invitationPolicy,
            signInAutomatically: signInAutomatically, endpoints: endpoints,
            objectIDs: publishedObjectIDs)
    }

    // MARK: The local user

    /// The name others see: the one set, else the account's full name.
    public var displayName: String { settings.displayName ?? accountName }

    /// The discovery settings, read when discovery starts.
    public var discoverySettings: (backend: String?, allow: [String]?, deny: [String]?) {
        (settings.discoveryBackend, settings.allowInterfaces, settings.denyInterfaces)
    }

    /// Applies `change` to the settings once it is on disk; if saving fails, nothing changes.
    func updateSettings(_ change: (inout Settings) -> Void) throws {
        var changed = settings
        change(&changed)
        do {
            try store.save(changed)
            writeFailures.succeeded()
        } catch {
            writeFailures.failed("\(error)")
            throw error
        }
        settings = changed
    }

    /// Where the store is, and where a damaged one was moved at start (for `Diagnose`).
    public var storeStatus: (path: String, damagedCopy: String?) { (database.path, database.damagedCopy) }
    /// Failed writes since the start, the latest one's message, and whether the last write failed.
    public var writeStatus: (failures: Int, latest: String?, failingNow: Bool) {
        (writeFailures.count, writeFailures.latest, writeFailures.failingNow)
    }

    /// My email address, or "" when none is set.
    public var email: String { settings.email ?? "" }

    /// Changes the display name; returns after it is on disk and tells connected peers.
    public func setDisplayName(_ name: String) throws {
        let name = try DisplayName.validated(name)
        guard name != displayName else { return }
        try updateSettings { $0.displayName = name }
        logger.info("Display name changed", metadata: ["display_name": "\(name)"])
        announce(.managerChanged([.displayName]))
        broadcastProfile()
    }

    /// Changes the email address of my card ("" removes it); returns after it is on disk.
    public func setEmail(_ address: String) throws {
        if !address.isEmpty {
            do {
                try ContactCard.validateEmail(address)
            } catch {
                throw CollaborationError.invalidArgument(error.message)
            }
        }
        guard address != email else { return }
        try updateSettings { $0.email = address.isEmpty ? nil : address }
        announce(.managerChanged([.email]))
    }

    /// My contact card: display name, email, certificate, peer name and endpoints.
    public func contactCard() throws(CollaborationError) -> String {
        ContactCard(
            displayName: displayName, email: settings.email, peerName: identity.peerName.description,
            certificateDER: try loadedIdentity().certificateDER, endpoints: Array(endpoints.prefix(ContactCard.maximumEndpoints))
        ).encode()
    }

    /// My key and certificate, loaded on first use (``LocalIdentity``); a failure, such as
    /// a key file damaged or made readable by others since the start, says what to do.
    func loadedIdentity() throws(CollaborationError) -> PeerIdentity {
        do {
            return try identity.load()
        } catch {
            throw .failed("\(error)")
        }
    }

    /// Records where peers reach me (the network layer calls this when it listens or
    /// addresses change).
    public func setEndpoints(_ newEndpoints: [ContactEndpoint]) {
        guard newEndpoints != endpoints else { return }
        endpoints = newEndpoints
        announce(.managerChanged([.endpoints]))
    }

    /// Keys of `settings.json` that were not used, and the file's path, for `Diagnose`.
    public var ignoredSettings: (path: String, ignored: [Settings.IgnoredSetting]) { (store.url.path, settings.ignored) }

    private func logIgnoredSettings() {
        Self.logIgnored(settings, at: store.url.path, logger: logger)
    }

    private nonisolated static func logIgnored(_ settings: Settings, at path: String, logger: Logger) {
        for ignored in settings.ignored {
            logger.warning(
                "Ignoring a setting in \(path): \(ignored); the default holds until it is fixed (then systemctl --user reload peercollab)",
                metadata: ["key": "\(ignored.key)", "value": "\(ignored.value)"])
        }
    }

    /// Re-reads the settings from disk (on reload) and announces what differs.
    public func reload() throws {
        let before = settings
        let beforeName = displayName
        settings = try store.load()
        logIgnoredSettings()
        var changed: Set<ManagerField> = []
        if displayName != beforeName { changed.insert(.displayName) }
        if settings.email != before.email { changed.insert(.email) }
        if settings.invitationPolicy != before.invitationPolicy { changed.insert(.invitationPolicy) }
        if (settings.signInAutomatically ?? true) != (before.signInAutomatically ?? true) { changed.insert(.signInAutomatically) }
        if !changed.isEmpty { announce(.managerChanged(changed)) }
        if changed.contains(.displayName) { broadcastProfile() }
        invitationSettingsReloaded(from: before)
    }
}
