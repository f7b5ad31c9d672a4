/// When to dial each contact over the internet scope: every contact not connected is tried
/// at once when I sign in, and again after each failed round with exponential back-off
/// (1 s doubling to 5 min, ±20 % jitter, so that many daemons that lost the same network
/// do not all dial at the same instant when it returns); a connection that held a minute
/// resets the back-off, one that drops at once does not. At most four rounds run at once.
///
/// Sans I/O: the owner tells it what happened, with the time, carries out the ``Order``s
/// (a round is every endpoint of the contact, in order), and runs one timer to
/// ``nextDeadline``. Whether a contact still needs a dial (it has endpoints, it is not
/// connected by some other way) is the owner's to say when carrying an order out.
public struct ContactDials: Sendable {
    public struct Limits: Sendable {
        public var roundsAtOnce = 4
        public var firstDelay: Duration = .seconds(1)
        public var longestDelay: Duration = .seconds(300)
        /// A connection that lasted this long resets the back-off.
        public var stableConnection: Duration = .seconds(60)

        public init() {}
    }

    private struct Contact: Sendable {
        /// Failed rounds since the contact was last connected for a while.
        var attempts = 0
        var connectedSince: ContinuousClock.Instant?
        var notBefore: ContinuousClock.Instant?
    }

    public let limits: Limits
    /// A factor near 1 for each wait (0.8…1.2 by default); tests pin it.
    private let jitter: @Sendable () -> Double
    private var contacts: [String: Contact] = [:]
    /// Contacts whose round is due, first come first dialled.
    private var queue: [String] = []
    private var underWay: Set<String> = []
    private var active = false

    public init(limits: Limits = Limits(), jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.8...1.2) }) {
        self.limits = limits
        self.jitter = jitter
    }

    // MARK: What the owner tells

    /// Signed in to the internet scope: a round for each of `contacts` now.
    public mutating func start(_ contacts: [String], now: ContinuousClock.Instant) -> [String] {
        active = true
        for id in contacts { dueNow(id) }
        return pump()
    }

    /// Signed out of it: nothing more is dialled (rounds under way end on their own).
    public mutating func stop() {
        active = false
        contacts = contacts.filter { $0.value.connectedSince != nil }
        queue = []
    }

    /// A contact was added, or its endpoints changed: a round now.
    public mutating func contactNeedsDial(_ id: String, now: ContinuousClock.Instant) -> [String] {
        guard active else { return [] }
        dueNow(id)
        return pump()
    }

    /// The contact is gone from the book.
    public mutating func contactRemoved(_ id: String) {
        contacts[id] = nil
        queue.removeAll { $0 == id }
    }

    /// The contact's peer is connected (by any way): no dial is needed.
    public mutating func connected(_ id: String, now: ContinuousClock.Instant) {
        var contact = contacts[id] ?? Contact()
        contact.connectedSince = now
        contact.notBefore = nil
        contacts[id] = contact
        queue.removeAll { $0 == id }
    }

    /// Its link closed: the next round after the back-off (reset when the link had held).
    public mutating func disconnected(_ id: String, now: ContinuousClock.Instant) -> [String] {
        var contact = contacts[id] ?? Contact()
        if let since = contact.connectedSince, since.duration(to: now) >= limits.stableConnection {
            contact.attempts = 0
        }
        contact.connectedSince = nil
        contacts[id] = contact
        guard active else { return [] }
        wait(id, afterAttempts: contact.attempts, now: now)
        return pump()
    }

    /// A round ordered before ended: `reached` when the contact's key answered; nil when the
    /// owner found no dial was needed after all (connected meanwhile, no endpoints).
    public mutating func roundFinished(_ id: String, reached: Bool?, now: ContinuousClock.Instant) -> [String] {
        underWay.remove(id)
        if reached == false, active, contacts[id] != nil, contacts[id]?.connectedSince == nil {
            contacts[id]!.attempts += 1
            wait(id, afterAttempts: contacts[id]!.attempts, now: now)
        }
        return pump()
    }

    /// The network changed (resume, a new connection): the back-off means nothing any more.
    public mutating func networkChanged(now: ContinuousClock.Instant) -> [String] {
        guard active else { return [] }
        for (id, contact) in contacts where contact.connectedSince == nil {
            contacts[id]?.attempts = 0
            dueNow(id)
        }
        return pump()
    }

    /// The owner's timer reached ``nextDeadline``.
    public mutating func deadlinePassed(now: ContinuousClock.Instant) -> [String] {
        for (id, contact) in contacts.sorted(by: { $0.key < $1.key }) {
            if let due = contact.notBefore, due <= now { dueNow(id) }
        }
        return pump()
    }

    // MARK: Questions

    public var nextDeadline: ContinuousClock.Instant? {
        contacts.values.compactMap(\.notBefore).min()
    }

    public func isDialling(_ id: String) -> Bool { underWay.contains(id) }

    /// Failed rounds since the contact was last connected for a while.
    public func failedRounds(_ id: String) -> Int { contacts[id]?.attempts ?? 0 }

    // MARK: Rules

    private mutating func dueNow(_ id: String) {
        var contact = contacts[id] ?? Contact()
        guard contact.connectedSince == nil else { return }
        contact.notBefore = nil
        contacts[id] = contact
        if !queue.contains(id), !underWay.contains(id) { queue.append(id) }
    }

    private mutating func wait(_ id: String, afterAttempts attempts: Int, now: ContinuousClock.Instant) {
        let wait = delay(afterAttempts: attempts)
        contacts[id]?.notBefore = now + wait
    }

    /// The wait before round `attempts + 1`.
    public func delay(afterAttempts attempts: Int) -> Duration {
        let base = min(limits.longestDelay, limits.firstDelay * (1 << min(attempts, 20)))
        return min(limits.longestDelay, base * jitter())
    }

    private mutating func pump() -> [String] {
        var orders: [String] = []
        while underWay.count < limits.roundsAtOnce, !queue.isEmpty {
            let id = queue.removeFirst()
            underWay.insert(id)
            orders.append(id)
        }
        return orders
    }
}
