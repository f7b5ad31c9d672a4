import Logging

/// The single source of truth of the daemon: the local user's identity and settings (and,
/// as they arrive, contacts, peers, presence and invitations). D-Bus and network code call
/// in and translate its events; they decide nothing themselves.
public actor Collaboration {
    private let store: SettingsStore
    private var settings: Settings
    private let accountName: String
    private var subscribers: [Int: AsyncStream<CollaborationEvent>.Continuation] = [:]
    private var nextSubscriber = 0
    private let logger: Logger

    /// Loads the settings; throws if they exist but cannot be read.
    public init(store: SettingsStore, accountName: String, logger: Logger) throws {
        self.store = store
        self.accountName = accountName
        self.logger = logger
        self.settings = try store.load()
    }

    // MARK: Events

    /// A stream of everything that changes from now on.
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

    private func publish(_ event: CollaborationEvent) {
        for subscriber in subscribers.values { subscriber.yield(event) }
    }

    /// Ends every event stream (at shutdown).
    public func finishEvents() {
        for subscriber in subscribers.values { subscriber.finish() }
        subscribers = [:]
    }

    // MARK: The local user

    /// The name others see: the one set, else the account's full name.
    public var displayName: String { settings.displayName ?? accountName }

    /// Changes the display name; returns after it is on disk.
    public func setDisplayName(_ name: String) throws {
        let name = try DisplayName.validated(name)
        guard name != displayName else { return }
        var changed = settings
        changed.displayName = name
        try store.save(changed)
        settings = changed
        logger.info("Display name changed", metadata: ["display_name": "\(name)"])
        publish(.managerChanged([.displayName]))
    }

    /// Re-reads the settings from disk (on reload) and announces what differs.
    public func reload() throws {
        let before = displayName
        settings = try store.load()
        if displayName != before { publish(.managerChanged([.displayName])) }
    }
}
