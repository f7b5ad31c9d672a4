/// The deadlines the domain keeps, each under a key: the domain sleeps nowhere; its owner
/// runs one timer to ``earliest`` and hands back the keys that are due.
struct Timetable<Key: Hashable & Sendable>: Sendable {
    private var deadlines: [Key: ContinuousClock.Instant] = [:]

    /// Sets (or moves) the deadline of `key`.
    mutating func set(_ key: Key, at deadline: ContinuousClock.Instant) {
        deadlines[key] = deadline
    }

    mutating func cancel(_ key: Key) {
        deadlines[key] = nil
    }

    func deadline(of key: Key) -> ContinuousClock.Instant? { deadlines[key] }

    /// The soonest deadline, if any.
    var earliest: ContinuousClock.Instant? { deadlines.values.min() }

    /// Removes and returns the keys due at `now`, soonest first.
    mutating func takeDue(at now: ContinuousClock.Instant) -> [Key] {
        let due = deadlines.filter { $0.value <= now }.sorted { $0.value < $1.value }.map(\.key)
        for key in due { deadlines[key] = nil }
        return due
    }

    var count: Int { deadlines.count }
}

/// What each deadline of the domain is for.
enum DomainDeadline: Hashable, Sendable {
    /// An invitation's expiry while pending, then its withdrawal after the retention.
    case invitation(String)
    /// A `GetObject` request the peer has not answered.
    case objectFetch(UInt32)
    /// The end of a second of a link's flood control.
    case floodFlush(linkID: Int)
    /// The next announced peers the near-me rate limit let wait.
    case nearbyDials
    /// The next round of dials to a contact that is not connected.
    case contactRedial(String)
    /// `Connect` waiting for the profile of the peer it reached.
    case profileWait(token: UInt64)
}
