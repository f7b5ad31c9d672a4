/// How the internet scope keeps trying a contact that is not connected: exponential back-off
/// from 1 s, doubling to 5 min, with ±20 % jitter so that many daemons that lost the same
/// network do not all dial at the same instant when it returns.
struct ContactRedial {
    /// Failed rounds (every endpoint tried) since the contact was last connected for a while.
    var attempts = 0
    /// When the current connection started, to tell a connection that held from one that
    /// drops at once (which must not reset the back-off). The wait before the next round is
    /// the domain's deadline `.contactRedial`.
    var connectedSince: ContinuousClock.Instant?

    static let firstDelaySeconds = 1.0
    static let longestDelaySeconds = 300.0
    /// A connection that lasted this long resets the back-off.
    static let stableConnection: Duration = .seconds(60)

    /// The wait before round `attempts + 1`.
    static func delay(afterAttempts attempts: Int) -> Duration {
        let base = min(longestDelaySeconds, firstDelaySeconds * Double(1 << min(attempts, 20)))
        let jittered = min(longestDelaySeconds, base * Double.random(in: 0.8...1.2))
        return .milliseconds(Int64(jittered * 1000))
    }
}
