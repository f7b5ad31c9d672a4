/// One channel's receive side: the window lent to the peer, and when to lend more.
///
/// Invariant: `outstanding + buffered + ungranted == size`, so what this side ever holds for
/// the channel is at most `size`. Credit comes back only as the application consumes (not as
/// bytes arrive), in one update once half the window is consumed; a window that drains
/// within about two round trips doubles (up to the limit) because the sender was waiting.
struct ReceiveWindow: Sendable {
    private(set) var size: Int
    /// Bytes the peer may still send.
    private(set) var outstanding: Int
    /// Received, not yet consumed by the application.
    private(set) var buffered = 0
    /// Consumed, not yet lent again.
    private(set) var ungranted = 0
    private var epochStart: ContinuousClock.Instant?
    private var epochConsumed = 0
    /// When an update let a stalled sender go: its next data is one round trip later.
    private var probe: ContinuousClock.Instant?
    /// The shortest round trip seen (nil: none yet, so the window does not grow).
    private(set) var roundTrip: Duration?

    init(size: Int) {
        self.size = size
        outstanding = size
    }

    /// `count` bytes arrived; false when they go past the window (a protocol error).
    mutating func received(_ count: Int, now: ContinuousClock.Instant) -> Bool {
        guard count <= outstanding else { return false }
        outstanding -= count
        buffered += count
        if let probe {
            let sample = probe.duration(to: now)
            roundTrip = min(roundTrip ?? sample, sample)
            self.probe = nil
        }
        return true
    }

    /// The application consumed `count` bytes; returns the credit to send, if any.
    /// `grow(extra)` says whether the link can lend `extra` more bytes.
    mutating func consumed(_ count: Int, now: ContinuousClock.Instant, chunk: Int, maximum: Int, grow: (Int) -> Bool) -> Int? {
        let count = min(count, buffered)
        buffered -= count
        ungranted += count
        if epochStart == nil { epochStart = now }
        epochConsumed += count
        var extra = 0
        if epochConsumed >= size {
            if let roundTrip, let start = epochStart, start.duration(to: now) <= roundTrip * 2, size * 2 <= maximum, grow(size) {
                extra = size
            }
            epochStart = now
            epochConsumed = 0
        }
        guard extra > 0 || ungranted >= size / 2 else { return nil }
        let grant = ungranted + extra
        // The sender had (almost) nothing left: it was waiting for this update.
        if outstanding < chunk { probe = now }
        size += extra
        outstanding += grant
        ungranted = 0
        return grant
    }
}
