/// Which peers announced near me to dial, when, and for how long: the announcements are
/// claims anyone on the link can make, so they are bounded per source and in all, and
/// dials to peers never proved get a short deadline and few places, so that a host
/// announcing hundreds of silent listeners cannot crowd out real peers. A peer still
/// announced but not connected (it left silently, or a firewall dropped it) is dialled
/// again with back-off, and the last reason is kept for `Diagnose`.
///
/// Sans I/O: the owner tells it what it saw and what became of its dials, with the time,
/// and carries out the ``Order``s it returns; it runs one timer to ``nextDeadline``.
public struct NearbyDials<Endpoint: Hashable & Sendable>: Sendable {
    /// An announcement as seen: the peer it claims to be, and where to dial.
    public struct Claim: Sendable, Hashable {
        public var instance: String
        /// The claimed peer name, as text; only a link proves it.
        public var peer: String
        /// On-link addresses at the port the SRV record names; nothing else is dialled.
        public var endpoints: [Endpoint]
        /// Who makes the claim, for the per-source bound: the host it points at.
        public var source: String
        /// The claimed peer is one of my contacts: its dials come first and wait longer.
        /// (A claim of a contact's name proves nothing either; it earns only a place in line.)
        public var isContact: Bool
        /// The display name the announcement hints at (TXT `dn`), for messages only.
        public var nameHint: String

        public init(instance: String, peer: String, endpoints: [Endpoint], source: String, isContact: Bool = false, nameHint: String = "") {
            self.instance = instance
            self.peer = peer
            self.endpoints = endpoints
            self.source = source
            self.isContact = isContact
            self.nameHint = nameHint
        }
    }

    /// Dial `peer` at `endpoints` in order; give up on it after `within`.
    public struct Order: Sendable, Equatable {
        public var peer: String
        public var endpoints: [Endpoint]
        public var within: Duration

        public init(peer: String, endpoints: [Endpoint], within: Duration) {
            self.peer = peer
            self.endpoints = endpoints
            self.within = within
        }
    }

    /// A peer announced near me that I could not reach, for `Diagnose` and `near`.
    public struct Unreachable: Sendable, Equatable {
        public var peer: String
        public var instance: String
        public var failedDials: Int
        public var reason: String
        /// What the announcement calls it (a claim), "" when it says nothing.
        public var nameHint: String

        public init(peer: String, instance: String, failedDials: Int, reason: String, nameHint: String = "") {
            self.peer = peer
            self.instance = instance
            self.failedDials = failedDials
            self.reason = reason
            self.nameHint = nameHint
        }
    }

    public struct Limits: Sendable {
        /// Announcements kept at once, and of those from one source.
        public var claims = 256
        public var claimsPerSource = 8
        /// Dials under way at once, and of those to one source.
        public var dialsAtOnce = 16
        public var dialsAtOncePerSource = 2
        public var dialsPerSecond = 10.0
        /// Dials a second to the claims of one source (contacts and proved peers aside), so
        /// that one host's claims cannot take the whole rate.
        public var dialsPerSecondPerSource = 2.0
        /// How long a dial may take to a peer never proved, and to a contact or a peer
        /// that was connected before (a TLS handshake and hello take milliseconds on a link).
        public var unprovedDialDeadline: Duration = .seconds(3)
        public var provedDialDeadline: Duration = .seconds(10)
        /// The back-off between dials of an announced peer that is not connected.
        public var firstRedial: Duration = .seconds(1)
        public var longestRedial: Duration = .seconds(60)

        public init() {}
    }

    private struct Dialee: Sendable {
        var attempts = 0
        var lastFailure = ""
        var notBefore: ContinuousClock.Instant?
        var underWay = false
        /// The source of the claim its dial under way followed (the claim may be gone since).
        var dialSource: String?
        var connected = false
        /// Proved its key on a link since the daemon started.
        var proved = false
    }

    public let limits: Limits
    private var claims: [String: Claim] = [:]
    /// Instances in the order first seen: the oldest unproved claim goes first when full.
    private var arrival: [String] = []
    private var dialees: [String: Dialee] = [:]
    private var bucket: TokenBucket
    /// Per source with claims (forgotten with its last claim).
    private var sourceBuckets: [String: TokenBucket] = [:]
    /// Set when a dial waits only for the rate limit.
    private var rateLimitedUntil: ContinuousClock.Instant?
    /// Claims refused or evicted since the start (for the log and `Diagnose`).
    public private(set) var claimsRefused = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
        bucket = TokenBucket(capacity: limits.dialsPerSecond, perSecond: limits.dialsPerSecond)
    }

    // MARK: What the owner saw

    /// An announcement appeared or changed. Returns whether it is kept, and the dials due.
    public mutating func claimSeen(_ claim: Claim, now: ContinuousClock.Instant) -> (kept: Bool, orders: [Order]) {
        if claims[claim.instance] == nil {
            guard makeRoom(for: claim) else {
                claimsRefused += 1
                return (false, [])
            }
            arrival.append(claim.instance)
        } else if let old = claims[claim.instance], old.peer != claim.peer {
            claims[claim.instance] = nil
            forgetIfUnclaimed(old.peer)
        }
        claims[claim.instance] = claim
        if dialees[claim.peer] == nil { dialees[claim.peer] = Dialee() }
        return (true, pump(now: now))
    }

    /// The announcement went away. Returns the peer it claimed when that peer is connected:
    /// the withdrawal proves nothing, but the owner may ask the link to prove it is alive.
    public mutating func claimWithdrawn(instance: String) -> String? {
        guard let claim = claims.removeValue(forKey: instance) else { return nil }
        arrival.removeAll { $0 == instance }
        let connected = dialees[claim.peer]?.connected == true
        forgetIfUnclaimed(claim.peer)
        return connected ? claim.peer : nil
    }

    /// A link proved `peer`'s key and was kept: no dial is needed, the back-off ends.
    public mutating func peerConnected(_ peer: String) {
        var dialee = dialees[peer] ?? Dialee()
        dialee.connected = true
        dialee.proved = true
        dialee.attempts = 0
        dialee.lastFailure = ""
        dialee.notBefore = nil
        dialees[peer] = dialee
    }

    /// `peer`'s link closed. If it is still announced it is dialled again shortly (it may
    /// have restarted, or lost the link silently), then with back-off.
    public mutating func peerDisconnected(_ peer: String, now: ContinuousClock.Instant) -> [Order] {
        guard var dialee = dialees[peer] else { return [] }
        dialee.connected = false
        dialee.notBefore = now + limits.firstRedial
        dialees[peer] = dialee
        forgetIfUnclaimed(peer)
        return pump(now: now)
    }

    /// A dial ordered before ended: `failure` nil when the peer's link was kept (the owner
    /// also calls ``peerConnected(_:)``), else why not.
    public mutating func dialFinished(_ peer: String, failure: String?, now: ContinuousClock.Instant) -> [Order] {
        guard var dialee = dialees[peer] else { return pump(now: now) }
        dialee.underWay = false
        dialee.dialSource = nil
        if let failure, !dialee.connected {
            dialee.attempts += 1
            dialee.lastFailure = failure
            dialee.notBefore = now + backoff(afterAttempts: dialee.attempts)
        }
        dialees[peer] = dialee
        forgetIfUnclaimed(peer)
        return pump(now: now)
    }

    /// The network changed (resume, a new address): the back-off means nothing any more.
    public mutating func networkChanged(now: ContinuousClock.Instant) -> [Order] {
        for peer in dialees.keys where dialees[peer]?.connected == false {
            dialees[peer]?.notBefore = nil
            dialees[peer]?.attempts = 0
        }
        return pump(now: now)
    }

    /// The owner's timer reached ``nextDeadline``.
    public mutating func deadlinePassed(now: ContinuousClock.Instant) -> [Order] {
        pump(now: now)
    }

    /// Signed out near me: every claim is forgotten (dials under way end on their own).
    public mutating func reset() {
        claims = [:]
        arrival = []
        dialees = dialees.filter { $0.value.connected || $0.value.underWay }
        for peer in dialees.keys { dialees[peer]?.notBefore = nil; dialees[peer]?.attempts = 0 }
        rateLimitedUntil = nil
    }

    // MARK: Questions

    public var nextDeadline: ContinuousClock.Instant? {
        let waits = dialees.compactMap { peer, dialee -> ContinuousClock.Instant? in
            guard !dialee.connected, !dialee.underWay, isClaimed(peer) else { return nil }
            return dialee.notBefore
        }
        return (waits + [rateLimitedUntil].compactMap { $0 }).min()
    }

    /// Whether some announcement near me claims `peer`.
    public func isClaimed(_ peer: String) -> Bool {
        claims.values.contains { $0.peer == peer }
    }

    public var claimCount: Int { claims.count }

    /// Where the oldest announcement claiming `peer` says it listens.
    public func endpoints(claimedBy peer: String) -> [Endpoint] {
        arrival.lazy.compactMap { claims[$0] }.first { $0.peer == peer }?.endpoints ?? []
    }

    /// Whether a dial to `peer` that these rules ordered is under way.
    public func isDialling(_ peer: String) -> Bool { dialees[peer]?.underWay == true }
    public var dialsUnderWay: Int { dialees.values.count { $0.underWay } }

    /// Announced peers not connected whose last dial failed, by peer name.
    public var unreachable: [Unreachable] {
        dialees.compactMap { peer, dialee in
            guard !dialee.connected, dialee.attempts > 0,
                let instance = arrival.first(where: { claims[$0]?.peer == peer })
            else { return nil }
            return Unreachable(
                peer: peer, instance: instance, failedDials: dialee.attempts, reason: dialee.lastFailure,
                nameHint: claims[instance]?.nameHint ?? "")
        }.sorted { $0.peer < $1.peer }
    }

    // MARK: Rules

    /// Room for a new claim: within its source's share, and within the total, evicting the
    /// oldest claim of a peer never proved (from the source with most claims when full).
    private mutating func makeRoom(for claim: Claim) -> Bool {
        let fromSource = arrival.filter { claims[$0]?.source == claim.source }
        if fromSource.count >= limits.claimsPerSource {
            guard let victim = fromSource.first(where: isEvictable) else { return false }
            evict(victim)
        }
        guard claims.count >= limits.claims else { return true }
        let counts = Dictionary(grouping: arrival.compactMap { claims[$0]?.source }, by: { $0 }).mapValues(\.count)
        let bySize = arrival.filter(isEvictable).sorted { (counts[claims[$0]!.source] ?? 0) > (counts[claims[$1]!.source] ?? 0) }
        // A source with more claims than the newcomer's gives way; otherwise the newcomer waits.
        guard let victim = bySize.first, counts[claims[victim]!.source]! > (counts[claim.source] ?? 0) else { return false }
        evict(victim)
        return true
    }

    private func isEvictable(_ instance: String) -> Bool {
        guard let claim = claims[instance] else { return false }
        return dialees[claim.peer]?.proved != true && !claim.isContact
    }

    private mutating func evict(_ instance: String) {
        guard let claim = claims.removeValue(forKey: instance) else { return }
        arrival.removeAll { $0 == instance }
        claimsRefused += 1
        forgetIfUnclaimed(claim.peer)
    }

    private mutating func forgetIdleSources() {
        guard sourceBuckets.count > claims.count else { return }
        let sources = Set(claims.values.map(\.source))
        sourceBuckets = sourceBuckets.filter { sources.contains($0.key) }
    }

    private mutating func forgetIfUnclaimed(_ peer: String) {
        forgetIdleSources()
        guard let dialee = dialees[peer], !dialee.connected, !dialee.underWay, !isClaimed(peer) else { return }
        dialees[peer] = nil
    }

    /// Orders every dial that is due and has a place: contacts and proved peers first, then
    /// claims not tried yet, then the claims of sources with fewest dials under way, then
    /// the oldest.
    private mutating func pump(now: ContinuousClock.Instant) -> [Order] {
        rateLimitedUntil = nil
        var underWayBySource: [String: Int] = [:]
        var underWay = 0
        for dialee in dialees.values where dialee.underWay {
            underWay += 1
            if let source = dialee.dialSource { underWayBySource[source, default: 0] += 1 }
        }
        var due: [Claim] = []
        var seen: Set<String> = []
        for instance in arrival {
            guard let claim = claims[instance], seen.insert(claim.peer).inserted, let dialee = dialees[claim.peer],
                !dialee.connected, !dialee.underWay, !claim.endpoints.isEmpty, dialee.notBefore.map({ $0 <= now }) ?? true
            else { continue }
            due.append(claim)
        }
        due.sort { a, b in
            let (pa, pb) = (a.isContact || dialees[a.peer]?.proved == true, b.isContact || dialees[b.peer]?.proved == true)
            if pa != pb { return pa }
            // Claims never tried before those that failed: redials of dead claims wait.
            let (fa, fb) = (dialees[a.peer]?.attempts ?? 0, dialees[b.peer]?.attempts ?? 0)
            if (fa == 0) != (fb == 0) { return fa == 0 }
            return (underWayBySource[a.source] ?? 0) < (underWayBySource[b.source] ?? 0)
        }
        var orders: [Order] = []
        for claim in due {
            guard underWay < limits.dialsAtOnce else { break }
            let proved = claim.isContact || dialees[claim.peer]?.proved == true
            guard proved || (underWayBySource[claim.source] ?? 0) < limits.dialsAtOncePerSource else { continue }
            var sourceBucket = sourceBuckets[claim.source]
                ?? TokenBucket(capacity: limits.dialsPerSecondPerSource, perSecond: limits.dialsPerSecondPerSource)
            guard proved || sourceBucket.wouldGrant(at: now) else {
                let retry = now + .milliseconds(Int64(1000 / limits.dialsPerSecondPerSource))
                rateLimitedUntil = min(rateLimitedUntil ?? retry, retry)
                continue
            }
            guard bucket.take(now: now) else {
                let retry = now + .milliseconds(Int64(1000 / limits.dialsPerSecond))
                rateLimitedUntil = min(rateLimitedUntil ?? retry, retry)
                break
            }
            if !proved {
                _ = sourceBucket.take(now: now)
                sourceBuckets[claim.source] = sourceBucket
            }
            dialees[claim.peer]?.underWay = true
            dialees[claim.peer]?.dialSource = claim.source
            underWay += 1
            underWayBySource[claim.source, default: 0] += 1
            orders.append(Order(
                peer: claim.peer, endpoints: claim.endpoints,
                within: proved ? limits.provedDialDeadline : limits.unprovedDialDeadline))
        }
        return orders
    }

    private func backoff(afterAttempts attempts: Int) -> Duration {
        min(limits.longestRedial, limits.firstRedial * (1 << min(attempts - 1, 20)))
    }
}
