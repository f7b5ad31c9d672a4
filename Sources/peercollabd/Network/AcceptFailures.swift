import Logging
import NIOCore
import Synchronization

/// Failed accepts of the peer listener, logged once per burst: the first failure says what
/// happened and what to do, and while failures go on, one line a minute sums them up. A
/// minute without failures ends the burst.
final class AcceptFailures: Sendable {
    private struct Burst {
        var summarised: NIODeadline
        var last: NIODeadline
        var count = 0
    }

    private let logger: Logger
    private let refusals: NetworkRefusals?
    private let burst = Mutex<Burst?>(nil)

    init(logger: Logger, refusals: NetworkRefusals? = nil) {
        self.logger = logger
        self.refusals = refusals
    }

    func failed(_ error: IOError, now: NIODeadline = .now()) {
        refusals?.note(.acceptFailed, error: "\(error)", now: now)
        enum Line { case first, summary(Int), none }
        let line = burst.withLock { burst -> Line in
            guard var current = burst, now - current.last < .seconds(60) else {
                burst = Burst(summarised: now, last: now)
                return .first
            }
            current.count += 1
            current.last = now
            defer { burst = current }
            guard now - current.summarised >= .seconds(60) else { return .none }
            let count = current.count
            current.summarised = now
            current.count = 0
            return .summary(count)
        }
        switch line {
        case .first:
            logger.error(
                "Failed to accept a peer connection: \(error); trying again each second. If it says too many open files, connections are holding every descriptor: see peercollabctl doctor.")
        case .summary(let count):
            logger.error("Accepting peer connections still fails: \(count) more failures in the last minute; the latest: \(error)")
        case .none:
            break
        }
    }
}
