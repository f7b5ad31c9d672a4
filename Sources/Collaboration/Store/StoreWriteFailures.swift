import Logging

/// Writes that failed (the disk full, the folder read-only), for the log and `Diagnose`.
/// The caller of each gets its own clear error and nothing on disk is damaged; this makes
/// the failures visible to whoever reads the journal or asks `doctor` later: the first one
/// of a burst is logged whole, the next ones at most one line a minute with their count.
/// Owned by the ``Collaboration`` actor, like the database.
final class StoreWriteFailures {
    static let logInterval: Duration = .seconds(60)

    private let logger: Logger
    /// Failed writes since the start.
    private(set) var count = 0
    /// The latest failure's message, and whether the write after it succeeded.
    private(set) var latest: String?
    private(set) var failingNow = false
    private var lastLogged: ContinuousClock.Instant?
    private var unlogged = 0

    init(logger: Logger) {
        self.logger = logger
    }

    func failed(_ message: String, now: ContinuousClock.Instant = .now) {
        count += 1
        latest = message
        failingNow = true
        guard lastLogged.map({ $0.duration(to: now) >= Self.logInterval }) ?? true else {
            unlogged += 1
            return
        }
        logger.error(
            unlogged == 0 ? "A write failed: \(message)" : "Writes still fail: \(unlogged) more in the last minute; the latest: \(message)",
            metadata: ["failed_writes": "\(count)"])
        lastLogged = now
        unlogged = 0
    }

    func succeeded() {
        guard failingNow else { return }
        failingNow = false
        logger.notice("Writing works again after \(count) failed writes\(unlogged > 0 ? " (\(unlogged) not logged)" : "")")
        unlogged = 0
        lastLogged = nil
    }
}
