import CSystemd
import Logging

/// Keeps the service manager's watchdog (`WatchdogSec=`) fed by pinging at half its timeout.
///
/// When the unit sets no watchdog there is no `Watchdog` and so no timer at all: an idle
/// daemon stays asleep.
public struct Watchdog: Sendable {
    /// The watchdog timeout the service manager set for this process, nil when it set none.
    ///
    /// A malformed `WATCHDOG_USEC` counts as none; ``configuredInterval()`` says why.
    public static var interval: Duration? {
        (try? configuredInterval()) ?? nil
    }

    /// The watchdog timeout from `WATCHDOG_USEC`, nil when unset or meant for another process
    /// (`WATCHDOG_PID`).
    public static func configuredInterval() throws(SystemdError) -> Duration? {
        var usec: UInt64 = 0
        // unset_environment = 0: a reload or a child's check may read the variables again.
        let result = sd_watchdog_enabled(0, &usec)
        if result < 0 { throw .invalidWatchdogSetting(errno: -result) }
        guard result > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// The timeout after which the service manager acts on a silent service.
    public let interval: Duration
    private let logger: Logger

    /// The time between pings: half the timeout, as sd_watchdog_enabled(3) advises.
    public var pingPeriod: Duration { interval / 2 }

    /// A watchdog for the timeout the service manager set, nil when it set none.
    public init?(logger: Logger = Logger(label: "systemd.watchdog")) {
        let interval: Duration?
        do {
            interval = try Self.configuredInterval()
        } catch {
            logger.warning("\(error)")
            return nil
        }
        guard let interval else { return nil }
        self.init(interval: interval, logger: logger)
    }

    /// A watchdog for an explicit timeout.
    public init(interval: Duration, logger: Logger = Logger(label: "systemd.watchdog")) {
        precondition(interval > .zero, "a watchdog timeout must be positive")
        self.interval = interval
        self.logger = logger
    }

    /// Pings at once and then every ``pingPeriod`` until the task is cancelled.
    ///
    /// Failed pings are logged once per run of failures and do not end the loop: the next
    /// one may succeed, and if none does the service manager restarts us, which is the point.
    public func run() async {
        let clock = ContinuousClock()
        var failing = false
        logger.debug("Watchdog started", metadata: ["interval": "\(interval)"])
        while !Task.isCancelled {
            let pingedAt = clock.now
            do {
                try SystemdNotifier.watchdogPing()
                if failing {
                    failing = false
                    logger.notice("Watchdog ping delivered again")
                }
            } catch {
                if !failing {
                    failing = true
                    logger.warning("\(error), retrying every \(pingPeriod)")
                }
            }
            do {
                try await clock.sleep(until: pingedAt.advanced(by: pingPeriod), tolerance: pingPeriod / 10)
            } catch {
                break
            }
        }
        logger.debug("Watchdog stopped")
    }
}
