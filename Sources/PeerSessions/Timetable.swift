/// Deadlines kept under keys, for code that sleeps nowhere (the session layer, the domain):
/// its owner runs one timer to ``earliest`` and hands back the keys that are due.
public struct Timetable<Key: Hashable & Sendable>: Sendable {
    private var deadlines: [Key: ContinuousClock.Instant] = [:]

    public init() {}

    /// Sets (or moves) the deadline of `key`.
    public mutating func set(_ key: Key, at deadline: ContinuousClock.Instant) {
        deadlines[key] = deadline
    }

    public mutating func cancel(_ key: Key) {
        deadlines[key] = nil
    }

    public func deadline(of key: Key) -> ContinuousClock.Instant? { deadlines[key] }

    /// The soonest deadline, if any.
    public var earliest: ContinuousClock.Instant? { deadlines.values.min() }

    /// Removes and returns the keys due at `now`, soonest first.
    public mutating func takeDue(at now: ContinuousClock.Instant) -> [Key] {
        let due = deadlines.filter { $0.value <= now }.sorted { $0.value < $1.value }.map(\.key)
        for key in due { deadlines[key] = nil }
        return due
    }

    public var count: Int { deadlines.count }
}
