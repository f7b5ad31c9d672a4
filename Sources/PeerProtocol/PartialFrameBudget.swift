import Synchronization

/// The bytes of frames not yet complete that all sessions of a process may hold together.
///
/// Each session may buffer up to a maximum frame (256 KiB) while a frame arrives, so a
/// thousand sessions each sending most of one and then nothing would cost a quarter of a
/// gigabyte. Every session holds ``freePerSession`` bytes of a partial frame for free (the
/// hello, a profile, presence and most messages fit in it, so a real peer is never
/// refused for its small frames); what a session holds beyond that is charged here, and a
/// session whose next bytes would take the total past ``limit`` is closed.
public final class PartialFrameBudget: Sendable {
    /// Bytes of a partial frame every session holds without charge.
    public static let freePerSession = 16 * 1024
    /// The default total: 32 sessions each in the middle of a maximum-size frame.
    public static let defaultLimit = 8 * 1024 * 1024

    /// The most bytes charged at once.
    public let limit: Int
    private let charged = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)

    public init(limit: Int = PartialFrameBudget.defaultLimit) {
        self.limit = limit
    }

    /// The bytes charged now, by every session together.
    public var inUse: Int { charged.load(ordering: .relaxed) }
    /// Sessions closed because the budget was spent, since the start.
    public var refused: Int { refusals.load(ordering: .relaxed) }

    /// Charges `bytes` more; false (nothing charged) when that would pass the limit.
    func charge(_ bytes: Int) -> Bool {
        var current = charged.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else {
                refusals.add(1, ordering: .relaxed)
                return false
            }
            let (exchanged, original) = charged.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back `bytes` charged before.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        charged.subtract(bytes, ordering: .relaxed)
    }
}
