import NIOCore

/// The limits on frames, requests and time that one session enforces; defaults suit a LAN or the internet.
public struct PeerSessionConfiguration: Hashable, Sendable {
    /// The largest frame accepted, in bytes after the length field. At least
    /// ``PeerProtocolLimits/minimumMaximumFrameLength`` so every v1 message fits.
    public var maximumFrameLength: Int
    /// Object requests each side may have outstanding; the peer's one more is a protocol error,
    /// ours one more fails its write.
    public var maximumRequestsInFlight: Int
    /// Time from the start of the session (install the handler when the connection opens, so
    /// this covers the TLS handshake too) until the peer's hello must have arrived.
    public var helloTimeout: TimeAmount
    /// After this long without receiving anything, send a ping; again each interval while silent.
    public var keepaliveInterval: TimeAmount
    /// After this long without receiving anything, drop the peer; a few keepalive intervals.
    public var idleTimeout: TimeAmount

    /// Makes a configuration; every argument has the recommended default.
    public init(
        maximumFrameLength: Int = PeerProtocolLimits.defaultMaximumFrameLength,
        maximumRequestsInFlight: Int = 32,
        helloTimeout: TimeAmount = .seconds(10),
        keepaliveInterval: TimeAmount = .seconds(15),
        idleTimeout: TimeAmount = .seconds(50)
    ) {
        precondition(maximumFrameLength >= PeerProtocolLimits.minimumMaximumFrameLength, "maximum frame length too small for v1 messages")
        precondition(maximumRequestsInFlight >= 1, "at least one request must be allowed in flight")
        precondition(helloTimeout > .zero && keepaliveInterval > .zero, "timeouts must be positive")
        precondition(idleTimeout > keepaliveInterval, "the idle timeout must leave room for at least one keepalive")
        self.maximumFrameLength = maximumFrameLength
        self.maximumRequestsInFlight = maximumRequestsInFlight
        self.helloTimeout = helloTimeout
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
    }
}
