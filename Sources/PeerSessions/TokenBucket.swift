import FoundationEssentials

/// A rate limit: `capacity` actions at once, refilled at `perSecond`.
public struct TokenBucket: Sendable {
    public let capacity: Double
    public let perSecond: Double
    private var tokens: Double
    /// When tokens were last counted; nil until the first take.
    private var last: ContinuousClock.Instant?

    /// Full at the start: the first `take` may take `capacity` at once.
    public init(capacity: Double, perSecond: Double) {
        self.capacity = capacity
        self.perSecond = perSecond
        tokens = capacity
        last = nil
    }

    /// Takes a token if one is there at `now` (the domain's clock).
    public mutating func take(now: ContinuousClock.Instant) -> Bool {
        tokens = available(at: now)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether a ``take(now:)`` at `now` would succeed, taking nothing.
    public func wouldGrant(at now: ContinuousClock.Instant) -> Bool { available(at: now) >= 1 }

    private func available(at now: ContinuousClock.Instant) -> Double {
        guard let last else { return tokens }
        let elapsed = last.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(capacity, tokens + max(0, seconds) * perSecond)
    }
}
