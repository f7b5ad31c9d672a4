/// The rate limit on what one link's peer pushes unasked (presence updates, profiles,
/// object changes): 10 at once and 5 a second; beyond that they are dropped, and the owner
/// hears once when a burst starts (to log it and check back in a second) and once when a
/// whole second passed without drops (the burst is over, with how many were dropped).
public struct FloodGate: Sendable {
    public static let burst: Double = 10
    public static let perSecond: Double = 5
    /// How often the owner checks whether a burst is over.
    public static let checkInterval: Duration = .seconds(1)

    public enum Verdict: Sendable, Equatable {
        case admit
        /// Dropped; `burstStarted` on the first drop of a burst.
        case drop(burstStarted: Bool)
    }

    public enum Check: Sendable, Equatable {
        /// Still dropping: check again after ``checkInterval``.
        case stillFlooding
        /// No drop for a whole interval: the burst is over.
        case over(dropped: Int)
        /// Not in a burst.
        case quiet
    }

    private var bucket = TokenBucket(capacity: FloodGate.burst, perSecond: FloodGate.perSecond)
    public private(set) var isDropping = false
    private var dropped = 0
    private var droppedAtLastCheck = 0

    public init() {}

    public mutating func admit(now: ContinuousClock.Instant) -> Verdict {
        if bucket.take(now: now) { return .admit }
        dropped += 1
        guard !isDropping else { return .drop(burstStarted: false) }
        isDropping = true
        return .drop(burstStarted: true)
    }

    /// The owner's check, ``checkInterval`` after the burst started or the last check.
    public mutating func check() -> Check {
        guard isDropping else { return .quiet }
        if dropped > droppedAtLastCheck {
            droppedAtLastCheck = dropped
            return .stillFlooding
        }
        defer { isDropping = false; dropped = 0; droppedAtLastCheck = 0 }
        return .over(dropped: dropped)
    }
}
