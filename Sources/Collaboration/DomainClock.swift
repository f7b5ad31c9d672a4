/// Where the domain's rules read the time: a monotonic instant for every deadline they keep.
/// The daemon passes the system's; tests pass one they move by hand, so rules about time
/// run in milliseconds and side by side.
public protocol DomainClock: Sendable {
    var now: ContinuousClock.Instant { get }
}

/// The system's monotonic clock.
public struct SystemClock: DomainClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
}
